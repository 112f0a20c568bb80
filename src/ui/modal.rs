//! A modal dialog: the browser's own `<dialog>` opened with `showModal()`, so the
//! page behind it is inert, focus moves into it (to the element marked
//! `autofocus`, else the first control) and returns when it closes. The panel
//! itself is opaque and carries `role="dialog"`, `aria-modal` and its title as
//! its name. Escape is the app's key (keys.rs): it closes the dialog through
//! the app's state, so the browser's own cancel is prevented.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The id of the element that names the dialog (its heading).
    pub labelled_by: AttrValue,
    #[prop_or_default]
    pub class: Classes,
    #[prop_or_default]
    pub children: Html,
}

#[function_component(Modal)]
pub fn modal(props: &Props) -> Html {
    let node = use_node_ref();
    {
        let node = node.clone();
        use_effect_with((), move |_| {
            if let Some(d) = node.cast::<web_sys::HtmlDialogElement>() {
                if !d.open() {
                    let _ = d.show_modal();
                }
            }
            move || {
                if let Some(d) = node.cast::<web_sys::HtmlDialogElement>() {
                    d.close();
                }
            }
        });
    }
    let oncancel = Callback::from(|e: Event| e.prevent_default());
    html! {
        <dialog ref={node} class={classes!("modal", props.class.clone())} role="dialog" aria-modal="true" aria-labelledby={props.labelled_by.clone()} {oncancel}>
            { props.children.clone() }
        </dialog>
    }
}
