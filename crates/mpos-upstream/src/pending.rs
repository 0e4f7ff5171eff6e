//! The requests waiting on the processor, keyed by what its answers echo.
//!
//! Every request on the link gets its own DE 11, a *link STAN* from
//! 000001 to 999999 that wraps around and is never given to a second
//! request while the first is outstanding (reserved, sent and not yet
//! answered, timed out or lost). An answer is matched by its DE 11 and its
//! DE 37 (absent in network management messages): the same STAN with
//! another RRN is not the answer to this request, so it is dropped, and
//! the request keeps waiting for its own.

use std::collections::HashMap;

/// The highest link STAN; the one after it is 1.
pub const MAX_STAN: u32 = 999_999;

/// A link STAN: 1 to [`MAX_STAN`], six digits on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkStan(u32);

impl LinkStan {
    /// The STAN of six digits on the wire, if it is one the link gives.
    pub fn parse(text: &str) -> Option<LinkStan> {
        if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u32 = text.parse().ok()?;
        (1..=MAX_STAN).contains(&n).then_some(LinkStan(n))
    }

    /// Its DE 11 text: six digits.
    pub fn to_de11(self) -> String {
        format!("{:06}", self.0)
    }

    /// Its number.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Why an answer found no request waiting for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmatched {
    /// No request holds this STAN (it was answered, timed out or never sent).
    NoSuchStan,
    /// A request holds this STAN but carries another RRN.
    OtherRrn,
    /// The request holding this STAN was reserved but not sent yet.
    NotSent,
}

/// The outstanding STANs and, for each request sent, what its answer must
/// echo and where the answer goes (`T`: the link's reply channel).
#[derive(Debug)]
pub struct Table<T> {
    /// The STAN the next reservation tries first.
    next: u32,
    outstanding: HashMap<LinkStan, Slot<T>>,
}

#[derive(Debug)]
struct Slot<T> {
    /// DE 37 the answer must carry (`None`: it must carry none).
    rrn: Option<String>,
    /// `None` while reserved and not yet sent.
    waiter: Option<T>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table::starting_at(1)
    }
}

impl<T> Table<T> {
    /// A table whose first STAN is `first` (tests start near the wrap).
    pub fn starting_at(first: u32) -> Self {
        Table {
            next: first.clamp(1, MAX_STAN),
            outstanding: HashMap::new(),
        }
    }

    /// Requests reserved or sent and not yet settled.
    pub fn len(&self) -> usize {
        self.outstanding.len()
    }

    /// Whether nothing is outstanding.
    pub fn is_empty(&self) -> bool {
        self.outstanding.is_empty()
    }

    /// The next STAN no outstanding request holds, reserved until it is
    /// [`release`](Self::release)d or its answer is [`take`](Self::take)n.
    /// `None` only when all 999,999 are outstanding.
    pub fn reserve(&mut self) -> Option<LinkStan> {
        if self.outstanding.len() >= MAX_STAN as usize {
            return None;
        }
        // At most `len + 1` candidates are looked at: the loop ends.
        loop {
            let candidate = LinkStan(self.next);
            self.next = if self.next >= MAX_STAN {
                1
            } else {
                self.next + 1
            };
            if let std::collections::hash_map::Entry::Vacant(slot) =
                self.outstanding.entry(candidate)
            {
                slot.insert(Slot {
                    rrn: None,
                    waiter: None,
                });
                return Some(candidate);
            }
        }
    }

    /// The reserved `stan` is being sent: its answer must echo `rrn` and
    /// goes to `waiter`. `false` if `stan` was not reserved (nothing done).
    pub fn sent(&mut self, stan: LinkStan, rrn: Option<String>, waiter: T) -> bool {
        match self.outstanding.get_mut(&stan) {
            Some(slot) => {
                slot.rrn = rrn;
                slot.waiter = Some(waiter);
                true
            }
            None => false,
        }
    }

    /// The request an answer with DE 11 `stan` and DE 37 `rrn` settles:
    /// its waiter, and the STAN is free again. An answer that matches
    /// nothing leaves the table as it was.
    pub fn take(&mut self, stan: LinkStan, rrn: Option<&str>) -> Result<T, Unmatched> {
        let slot = self.outstanding.get(&stan).ok_or(Unmatched::NoSuchStan)?;
        if slot.rrn.as_deref() != rrn {
            return Err(Unmatched::OtherRrn);
        }
        if slot.waiter.is_none() {
            return Err(Unmatched::NotSent);
        }
        self.outstanding
            .remove(&stan)
            .and_then(|slot| slot.waiter)
            .ok_or(Unmatched::NoSuchStan)
    }

    /// `stan` is settled without an answer (timed out, never sent): free.
    pub fn release(&mut self, stan: LinkStan) {
        self.outstanding.remove(&stan);
    }

    /// A request sent as `stan` timed out: its STAN is free again, unless
    /// its answer settled it meanwhile and another request holds the STAN
    /// now (`still_ours` tells the request's own waiter from another's).
    pub fn release_sent_if(&mut self, stan: LinkStan, still_ours: impl FnOnce(&T) -> bool) {
        let ours = self
            .outstanding
            .get(&stan)
            .and_then(|slot| slot.waiter.as_ref())
            .is_some_and(still_ours);
        if ours {
            self.outstanding.remove(&stan);
        }
    }

    /// The connection was lost: every request sent on it is settled (their
    /// waiters are handed back to be told); reserved ones stay reserved.
    pub fn drain_sent(&mut self) -> Vec<T> {
        let sent: Vec<LinkStan> = self
            .outstanding
            .iter()
            .filter(|(_, slot)| slot.waiter.is_some())
            .map(|(stan, _)| *stan)
            .collect();
        sent.into_iter()
            .filter_map(|stan| self.outstanding.remove(&stan)?.waiter)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A processor's answer is network input: whatever its DE 11 and
        /// DE 37, parsing and matching never panic, and an answer settles
        /// at most the one request that sent that STAN with that RRN.
        #[test]
        fn any_answer_is_matched_or_dropped_never_a_panic(
            stan in "\\PC{0,8}",
            answer_rrn in proptest::option::of("[0-9]{0,13}"),
        ) {
            let mut table: Table<()> = Table::default();
            let mine = table.reserve().unwrap();
            table.sent(mine, rrn(7), ());
            if let Some(parsed) = LinkStan::parse(&stan) {
                let matched = table.take(parsed, answer_rrn.as_deref()).is_ok();
                proptest::prop_assert_eq!(
                    matched,
                    parsed == mine && answer_rrn == rrn(7)
                );
            }
        }
    }

    fn rrn(n: u32) -> Option<String> {
        Some(format!("{n:012}"))
    }

    #[test]
    fn answers_in_any_order_reach_their_own_request() {
        let mut table = Table::default();
        let stans: Vec<LinkStan> = (0..5).map(|_| table.reserve().unwrap()).collect();
        for (i, stan) in stans.iter().enumerate() {
            assert!(table.sent(*stan, rrn(i as u32), i));
        }
        // Answered backwards, then the middle.
        for i in [4usize, 0, 3, 1, 2] {
            assert_eq!(table.take(stans[i], rrn(i as u32).as_deref()), Ok(i));
        }
        assert!(table.is_empty());
    }

    #[test]
    fn stans_wrap_from_999999_to_1_and_skip_outstanding_ones() {
        let mut table: Table<()> = Table::starting_at(999_998);
        let first = table.reserve().unwrap();
        assert_eq!(first.to_de11(), "999998");
        assert_eq!(table.reserve().unwrap().to_de11(), "999999");
        assert_eq!(table.reserve().unwrap().to_de11(), "000001");
        // 999998 is still outstanding when the counter comes round again.
        let mut table: Table<()> = Table::starting_at(999_999);
        let held = table.reserve().unwrap();
        let one = table.reserve().unwrap();
        assert_eq!((held.get(), one.get()), (999_999, 1));
        table.release(one);
        table.next = 999_999;
        assert_eq!(
            table.reserve().unwrap().get(),
            1,
            "999999 is outstanding: skipped"
        );
    }

    #[test]
    fn a_stan_is_never_given_twice_while_outstanding() {
        let mut table: Table<()> = Table::starting_at(MAX_STAN - 10);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100 {
            assert!(seen.insert(table.reserve().unwrap()));
        }
        // Wrap all the way round: the first 100 are still held.
        table.next = MAX_STAN - 10;
        let again = table.reserve().unwrap();
        assert!(!seen.contains(&again));
        assert_eq!(again.get(), 90, "the 100 held ones were skipped");
    }

    #[test]
    fn unmatched_answers_are_dropped_and_the_request_keeps_waiting() {
        let mut table = Table::default();
        let stan = table.reserve().unwrap();
        table.sent(stan, rrn(7), "waiter");
        // Unknown STAN.
        let unknown = LinkStan::parse("000500").unwrap();
        assert_eq!(
            table.take(unknown, rrn(7).as_deref()),
            Err(Unmatched::NoSuchStan)
        );
        // Right STAN, wrong RRN, or none.
        assert_eq!(
            table.take(stan, rrn(8).as_deref()),
            Err(Unmatched::OtherRrn)
        );
        assert_eq!(table.take(stan, None), Err(Unmatched::OtherRrn));
        assert_eq!(table.len(), 1);
        // Its own answer still finds it, once.
        assert_eq!(table.take(stan, rrn(7).as_deref()), Ok("waiter"));
        assert_eq!(
            table.take(stan, rrn(7).as_deref()),
            Err(Unmatched::NoSuchStan)
        );
    }

    #[test]
    fn a_reserved_stan_is_not_matched_until_sent() {
        let mut table: Table<()> = Table::default();
        let stan = table.reserve().unwrap();
        assert_eq!(table.take(stan, None), Err(Unmatched::NotSent));
        table.release(stan);
        assert!(table.is_empty());
    }

    #[test]
    fn a_lost_connection_settles_what_was_sent_only() {
        let mut table = Table::default();
        let sent = table.reserve().unwrap();
        let reserved = table.reserve().unwrap();
        table.sent(sent, None, 1);
        assert_eq!(table.drain_sent(), vec![1]);
        assert_eq!(table.len(), 1);
        table.release(reserved);
        assert!(table.is_empty());
    }

    #[test]
    fn stan_text_is_six_digits_in_range() {
        assert_eq!(LinkStan::parse("000001").map(LinkStan::get), Some(1));
        assert_eq!(LinkStan::parse("999999").map(LinkStan::get), Some(999_999));
        assert!(LinkStan::parse("000000").is_none());
        assert!(LinkStan::parse("12345").is_none());
        assert!(LinkStan::parse("12345a").is_none());
    }
}
