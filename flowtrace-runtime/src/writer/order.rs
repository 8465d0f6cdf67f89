//! The order in which the writer takes records from the rings.
//!
//! Within a round, the rings are merged by time (the record made earliest goes first), so
//! that a trace file reads as a timeline. That alone cannot guarantee the record format's
//! order: a record made earlier may be pushed later. What it must guarantee — a child's
//! ENTER after its parent's, a closing record after its ENTER — is guaranteed by each
//! record's `after` origin: before a record is taken, the record it names (and everything
//! before it in that ring) is. It is always there: it was pushed before the dependent record
//! was built, and the ring that holds it was registered before that.

use crate::clock::Instant;
use crate::record::{Event, Origin};
use crate::ring::RingReader;

use super::{Control, Writer};

/// One ring as the writer reads it.
pub(super) struct Reading {
    pub(super) reader: RingReader,
    /// How far this round takes the ring: what was there when the round began.
    limit: u64,
    /// Where the ring stood when the round began.
    round_start: u64,
    /// Being emptied up to a record another ring waits for; never entered twice (origins
    /// cannot form a cycle, and the writer must not loop if one ever did).
    busy: bool,
}

impl Writer {
    pub(super) fn adopt(&mut self, reader: RingReader) {
        // Appended, never inserted: a round holds indices into the list while it adopts.
        self.rings.push(Reading {
            reader,
            limit: 0,
            round_start: 0,
            busy: false,
        });
    }

    /// Lets go of the rings of threads that have exited, once they are empty.
    pub(super) fn retire_rings(&mut self) {
        // Abandoned first: after that nothing more can arrive, so empty stays empty.
        self.rings.retain(|ring| {
            !(ring.reader.consumer.is_abandoned() && ring.reader.consumer.is_empty())
        });
    }

    /// Takes every record the rings hold now, earliest first; how many.
    pub(super) fn take_rings(&mut self) -> u64 {
        let taken = self.take_rings_in_order();
        // Rings this round took from have room again for a thread that waits for it.
        for ring in &self.rings {
            if ring.reader.popped > ring.round_start {
                ring.reader.wake_waiting_thread();
            }
        }
        taken
    }

    fn take_rings_in_order(&mut self) -> u64 {
        let mut pending = 0;
        let mut last = 0;
        for (index, ring) in self.rings.iter_mut().enumerate() {
            ring.round_start = ring.reader.popped;
            ring.limit = ring.reader.popped + ring.reader.consumer.slots() as u64;
            if ring.limit > ring.reader.popped {
                pending += 1;
                last = index;
            }
        }
        let mut taken = 0;
        if pending == 1 {
            // One busy thread (the common case under load): no merging to do.
            while self.rings[last].reader.popped < self.rings[last].limit {
                let burst = self.take_burst(last, None);
                if burst == 0 && !self.take_next(last) {
                    break;
                }
                taken += burst.max(1);
            }
            return taken;
        }
        while let Some((index, next_other)) = self.earliest() {
            // The earliest ring's records up to the next other ring's first record, at once.
            let burst = self.take_burst(index, next_other);
            if burst == 0 && !self.take_next(index) {
                break;
            }
            taken += burst.max(1);
        }
        taken
    }

    /// The ring whose next record (within this round) was made first, and when the first
    /// next record of the other rings was made.
    fn earliest(&self) -> Option<(usize, Option<Instant>)> {
        let mut best: Option<(usize, Instant)> = None;
        let mut second: Option<Instant> = None;
        for (index, ring) in self.rings.iter().enumerate() {
            if ring.reader.popped >= ring.limit {
                continue;
            }
            let Ok(record) = ring.reader.consumer.peek() else {
                continue;
            };
            match best {
                Some((_, at)) if record.at >= at => {
                    second = Some(second.map_or(record.at, |s| s.min(record.at)));
                }
                _ => {
                    if let Some((_, at)) = best {
                        second = Some(second.map_or(at, |s| s.min(at)));
                    }
                    best = Some((index, record.at));
                }
            }
        }
        best.map(|(index, _)| (index, second))
    }

    /// Takes, in place, the records of ring `index` within this round made no later than
    /// `until` (all of them without it), stopping before the first that must follow another
    /// ring's record or that the exporter needs to own: those go one by one through
    /// [`Self::take_next`]. How many it took.
    fn take_burst(&mut self, index: usize, until: Option<Instant>) -> u64 {
        if self.exporter.is_some() {
            return 0;
        }
        let Self { rings, batch, .. } = self;
        let ring = &mut rings[index];
        let available = (ring.limit.saturating_sub(ring.reader.popped)) as usize;
        let serial = ring.reader.serial;
        let Ok(chunk) = ring.reader.consumer.read_chunk(available) else {
            return 0;
        };
        let (first, second) = chunk.as_slices();
        let mut count = 0;
        for record in first.iter().chain(second) {
            if record.follows_another_ring(serial) || until.is_some_and(|until| record.at > until) {
                break;
            }
            batch.add_record(record, &mut ring.reader.lines);
            count += 1;
        }
        chunk.commit(count);
        ring.reader.popped += count as u64;
        count as u64
    }

    /// Takes the next record of ring `index`, after the record it must follow; false when
    /// the ring is empty.
    fn take_next(&mut self, index: usize) -> bool {
        let ring = &mut self.rings[index];
        let Ok(record) = ring.reader.consumer.peek() else {
            return false;
        };
        let after = record.after;
        if record.follows_another_ring(ring.reader.serial) {
            ring.busy = true;
            self.satisfy(after);
            self.rings[index].busy = false;
        }
        let ring = &mut self.rings[index];
        let Ok(record) = ring.reader.consumer.pop() else {
            return false;
        };
        ring.reader.popped += 1;
        if record.event == Event::Link {
            return true;
        }
        self.batch.add_record(&record, &mut ring.reader.lines);
        if let Some(exporter) = &mut self.exporter {
            exporter.record(record, ring.reader.thread);
        }
        true
    }

    /// Takes records from the ring of `after` until the one it names is taken.
    pub(super) fn satisfy(&mut self, after: Origin) {
        if after.is_none() {
            return;
        }
        let Some(index) = self.find(after.ring) else {
            // Retired: everything it held was taken.
            return;
        };
        if self.rings[index].busy || self.rings[index].reader.has_taken(after) {
            return;
        }
        self.rings[index].busy = true;
        while !self.rings[index].reader.has_taken(after) && self.take_next(index) {}
        self.rings[index].busy = false;
    }

    /// The ring with serial number `serial`, taking rings registered since the round began.
    fn find(&mut self, serial: u64) -> Option<usize> {
        // A linear search: only records that follow another thread's come here, and a
        // process has few threads that trace.
        let search = |rings: &[Reading]| rings.iter().position(|ring| ring.reader.serial == serial);
        if let Some(index) = search(&self.rings) {
            return Some(index);
        }
        while let Ok(control) = self.controls.try_recv() {
            match control {
                Control::Ring(reader) => self.adopt(reader),
                other => self.deferred.push(other),
            }
        }
        search(&self.rings)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use crate::clock;
    use crate::ids::TraceId;
    use crate::json::Payload;
    use crate::record::{Event, Origin, Record};
    use crate::ring::{self, ThreadRing};
    use crate::site::CallSite;
    use crate::thread_label::ThreadLabel;
    use crate::writer::{Control, Writer};

    static SITE: CallSite = CallSite::new("work", "app", "src/app.rs", 1, &[], 0);

    #[derive(Clone, Default)]
    struct Memory(Arc<Mutex<Vec<u8>>>);

    impl Write for Memory {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// `(event, id)` of every line written, in file order.
    fn written(memory: &Memory) -> Vec<(String, u64)> {
        let text = String::from_utf8(memory.0.lock().expect("lock").clone()).expect("utf-8");
        text.lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).expect("JSON line");
                let event = value["event"].as_str().expect("event").to_owned();
                (event, value["id"].as_u64().expect("id"))
            })
            .collect()
    }

    fn at(micros: u64) -> clock::Instant {
        clock::anchor() + Duration::from_micros(micros)
    }

    fn enter(id: u64, parent: (u64, Origin), micros: u64) -> Record {
        let trace = TraceId { high: 1, low: 2 };
        Record::enter(&SITE, id, parent, (trace, 0), at(micros), Payload::new())
    }

    fn exit(id: u64, parent: u64, entered: (u64, Origin), micros: u64) -> Record {
        let entered = (at(entered.0), entered.1);
        Record::close(
            Event::Exit,
            &SITE,
            (id, parent),
            entered,
            at(micros),
            Payload::new(),
        )
    }

    fn push(ring: &mut ThreadRing, record: Record) -> Origin {
        ring.push(record).expect("room")
    }

    /// Records whose times say one order and whose causes say another: a thread stamped its
    /// ENTER late (its clock read came last, or it was preempted before pushing), while the
    /// call's child and its EXIT, on another thread, carry earlier times.
    #[test]
    fn a_record_waits_for_the_record_it_follows_whatever_the_times_say() {
        let memory = Memory::default();
        let (controls_sender, controls) = crossbeam_channel::unbounded();
        let mut writer = Writer::for_tests(controls, Box::new(memory.clone()));
        let (mut a, reader_a) = ring::new(16, 1, ThreadLabel::named("a"));
        let (mut b, reader_b) = ring::new(16, 1, ThreadLabel::named("b"));
        // Only b is known when the round begins; a arrives through the control channel.
        writer.adopt(reader_b);
        controls_sender.send(Control::Ring(reader_a)).expect("send");

        push(&mut a, enter(1, (0, Origin::NONE), 50));
        let parent = push(&mut a, enter(2, (1, Origin::NONE), 40));
        let child = push(&mut b, enter(3, (2, parent), 10));
        push(&mut b, exit(3, 2, (10, child), 20));
        push(&mut b, exit(2, 1, (40, parent), 30));

        writer.take_rings();
        writer.batch.write();
        let order = written(&memory);
        let position = |event: &str, id: u64| {
            order
                .iter()
                .position(|(e, i)| e == event && *i == id)
                .unwrap_or_else(|| panic!("{event} {id} missing from {order:?}"))
        };
        assert_eq!(order.len(), 5, "{order:?}");
        assert!(position("ENTER", 2) < position("ENTER", 3), "{order:?}");
        assert!(position("ENTER", 2) < position("EXIT", 2), "{order:?}");
        assert!(position("ENTER", 1) < position("ENTER", 2), "{order:?}");
        // Otherwise by time: b's child (10) goes before a's records it does not depend on.
        assert!(position("ENTER", 3) < position("EXIT", 3), "{order:?}");
    }

    #[test]
    fn rings_of_exited_threads_are_emptied_then_let_go() {
        let memory = Memory::default();
        let (_controls_sender, controls) = crossbeam_channel::unbounded();
        let mut writer = Writer::for_tests(controls, Box::new(memory.clone()));
        let (mut ring, reader) = ring::new(4, 1, ThreadLabel::named("gone"));
        writer.adopt(reader);
        let entered = push(&mut ring, enter(7, (0, Origin::NONE), 1));
        push(&mut ring, exit(7, 0, (1, entered), 2));
        drop(ring);
        writer.retire_rings();
        assert_eq!(writer.rings.len(), 1, "records still to take");
        assert_eq!(writer.take_rings(), 2);
        writer.retire_rings();
        assert!(writer.rings.is_empty());
        writer.batch.write();
        assert_eq!(written(&memory), [("ENTER".into(), 7), ("EXIT".into(), 7)]);
    }
}
