//! Kafka's socket server: a broker reads one request at a time from each
//! connection. The connection is muted from the moment a request is read until
//! its response is sent (for acks=0, until the request is handled), so requests
//! on one connection are handled in the order they were sent, and a produce
//! request waiting in purgatory holds up the requests behind it on that
//! connection, and only there. A consumer's group requests travel on a
//! connection of their own (`COORDINATOR_LANE`), so they never wait behind its
//! long-poll fetch.

use super::Broker;
use crate::kafka::obs::{Acks0Loss, Obs};
use crate::kafka::protocol::{BrokerMsg, Msg, ProducerMsg, Timer, MAIN_LANE};
use crate::kafka::Ctx;
use crate::scenario::Acks;
use crate::sim::{Lane, Micros, Node};
use std::collections::VecDeque;

/// One client connection as the broker sees it.
#[derive(Debug, Clone)]
struct Conn {
    peer: Node,
    lane: Lane,
    /// The client's number for this connection: a request from an older one
    /// (closed since) is dropped unread; one from a newer one replaces this.
    gen: u32,
    /// A request from it is being handled: the next one waits.
    busy: bool,
    /// The last response leaves at this time: the next request is read then.
    free_at: Micros,
    /// Requests sent on it and not read yet, in order.
    backlog: VecDeque<BrokerMsg>,
}

/// The broker's client connections; they close when its process dies.
#[derive(Debug, Clone, Default)]
pub struct Connections {
    conns: Vec<Conn>,
    /// When the pending `ReadRequests` timer fires (0: none pending).
    wake_at: Micros,
    /// Requests discarded unread (their connection was closed), for the broker to report.
    discarded: Vec<BrokerMsg>,
}

/// What reading a request from a connection gave.
pub(super) enum Read {
    /// Handle it now.
    Now(BrokerMsg),
    /// It waits behind an earlier request on its connection; read it at this time
    /// (None: when that request is answered).
    Later(Option<Micros>),
    /// It belongs to a connection the broker closed: gone unread.
    Dropped(BrokerMsg),
}

/// Does the broker read this message as a request on a client connection (and
/// which connection number does it carry)? Answers to the broker's own requests
/// (fetch responses, controller answers) are not requests. Group requests are
/// handled as they arrive: the coordinator lane keeps order but is not muted.
fn request_gen(msg: &BrokerMsg) -> Option<Option<u32>> {
    match msg {
        BrokerMsg::Produce(req) => Some(Some(req.conn)),
        BrokerMsg::Fetch { .. }
        | BrokerMsg::ClientMetadata { .. }
        | BrokerMsg::ListOffsets { .. }
        | BrokerMsg::ConsumerFetch { .. }
        | BrokerMsg::ShareFetch(_) => Some(None),
        _ => None,
    }
}

impl Connections {
    /// The process died: every request read or not is gone, with its client.
    pub(super) fn clear(&mut self) -> Vec<(Node, BrokerMsg)> {
        let mut lost: Vec<(Node, BrokerMsg)> = Vec::new();
        for c in self.conns.drain(..) {
            lost.extend(c.backlog.into_iter().map(|m| (c.peer, m)));
        }
        self.wake_at = 0;
        self.discarded.clear();
        lost
    }

    /// A request arrived from `peer`.
    pub(super) fn read(&mut self, now: Micros, peer: Node, msg: BrokerMsg) -> Read {
        let Some(gen) = request_gen(&msg) else { return Read::Now(msg) };
        let lane = MAIN_LANE;
        let c = match self.conns.iter().position(|c| c.peer == peer && c.lane == lane) {
            Some(i) => &mut self.conns[i],
            None => {
                self.conns.push(Conn {
                    peer,
                    lane,
                    gen: gen.unwrap_or(0),
                    busy: false,
                    free_at: 0,
                    backlog: VecDeque::new(),
                });
                self.conns.last_mut().expect("just pushed")
            }
        };
        match gen {
            Some(g) if g < c.gen => return Read::Dropped(msg),
            Some(g) if g > c.gen => {
                // The client opened a new connection: the old one's unread requests are gone,
                // and an old request still being handled no longer holds this one up.
                c.gen = g;
                c.busy = false;
                c.free_at = 0;
                self.discarded.extend(c.backlog.drain(..));
            }
            _ => {}
        }
        if c.busy || !c.backlog.is_empty() || c.free_at > now {
            c.backlog.push_back(msg);
            let at = (!c.busy).then_some(c.free_at.max(now));
            return Read::Later(at);
        }
        c.busy = true;
        Read::Now(msg)
    }

    /// The answer to the request being handled on (`peer`, `lane`) leaves at `at`.
    /// Returns when the next request there can be read, if one waits.
    pub(super) fn answered(&mut self, peer: Node, lane: Lane, at: Micros) -> Option<Micros> {
        let c = self.conns.iter_mut().find(|c| c.peer == peer && c.lane == lane)?;
        c.busy = false;
        c.free_at = at;
        (!c.backlog.is_empty()).then_some(at)
    }

    /// The broker closes a connection (an acks=0 request it could not write): what
    /// the client pipelined behind it is discarded unread, and only requests on
    /// the client's next connection are read.
    pub(super) fn close(&mut self, peer: Node, lane: Lane, gen: u32) {
        if let Some(c) = self.conns.iter_mut().find(|c| c.peer == peer && c.lane == lane) {
            c.gen = c.gen.max(gen + 1);
            c.busy = false;
            c.free_at = 0;
            self.discarded.extend(c.backlog.drain(..));
        }
    }

    /// The next request ready to be read now, if any (its connection becomes busy).
    fn next_ready(&mut self, now: Micros) -> Option<(Node, BrokerMsg)> {
        let c = self.conns.iter_mut().find(|c| !c.busy && c.free_at <= now && !c.backlog.is_empty())?;
        c.busy = true;
        Some((c.peer, c.backlog.pop_front().expect("not empty")))
    }

    /// When the next waiting request becomes readable (its connection not busy).
    fn next_wake(&self) -> Option<Micros> {
        self.conns.iter().filter(|c| !c.busy && !c.backlog.is_empty()).map(|c| c.free_at).min()
    }
}

impl Broker {
    /// A message arrived: requests go through their connection, in order.
    pub(super) fn receive(&mut self, ctx: &mut Ctx, from: Node, msg: BrokerMsg) {
        match self.conns.read(ctx.now, from, msg) {
            Read::Now(msg) => self.handle(ctx, from, msg),
            Read::Later(Some(at)) => self.wake_at(ctx, at),
            Read::Later(None) => {}
            Read::Dropped(msg) => self.conns.discarded.push(msg),
        }
        self.report_discarded(ctx);
    }

    /// acks=0 batches in requests discarded unread will never be written: say so.
    fn report_discarded(&mut self, ctx: &mut Ctx) {
        for msg in self.conns.discarded.drain(..) {
            let BrokerMsg::Produce(req) = msg else { continue };
            if req.acks != Acks::Zero {
                continue;
            }
            for (pidx, b) in &req.batches {
                ctx.observe(Obs::Acks0Unwritten {
                    instance: b.producer,
                    pidx: *pidx,
                    seq: b.audit_seq,
                    records: b.records,
                    why: Acks0Loss::ConnectionClosed,
                });
            }
        }
    }

    /// Sends the answer to a request read from `to`'s connection and unmutes it.
    pub(super) fn respond(&mut self, ctx: &mut Ctx, at: Micros, to: Node, msg: Msg) {
        let lane = msg.lane();
        ctx.send_at(at, to, msg);
        self.request_done(ctx, to, lane, at);
    }

    /// The request being handled on the connection is done (answered, or acks=0 written).
    pub(super) fn request_done(&mut self, ctx: &mut Ctx, peer: Node, lane: Lane, at: Micros) {
        if let Some(at) = self.conns.answered(peer, lane, at.max(ctx.now)) {
            self.wake_at(ctx, at);
        }
    }

    /// An acks=0 request failed: Kafka closes the connection, and the client
    /// learns it as a disconnect (then asks for metadata).
    pub(super) fn close_connection(&mut self, ctx: &mut Ctx, at: Micros, client: Node, gen: u32) {
        self.conns.close(client, MAIN_LANE, gen);
        self.report_discarded(ctx);
        ctx.send_at(at, client, Msg::Producer(ProducerMsg::Disconnected));
    }

    fn wake_at(&mut self, ctx: &mut Ctx, at: Micros) {
        if self.conns.wake_at == 0 || at < self.conns.wake_at {
            self.conns.wake_at = at;
            ctx.timer(at.saturating_sub(ctx.now), Timer::ReadRequests);
        }
    }

    /// Reads the requests whose connections became free, then waits for the next.
    pub(super) fn read_requests(&mut self, ctx: &mut Ctx) {
        if ctx.now >= self.conns.wake_at {
            self.conns.wake_at = 0;
        }
        while let Some((peer, msg)) = self.conns.next_ready(ctx.now) {
            self.handle(ctx, peer, msg);
        }
        if let Some(at) = self.conns.next_wake() {
            self.wake_at(ctx, at.max(ctx.now));
        }
    }
}
