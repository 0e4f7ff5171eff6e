//! What a simulated device sends: its sign-ons (by password or by ticket)
//! and its mix of payments — mostly purchases, some refunds of earlier
//! approvals and some reversals — each with the device's next STAN.

use super::Settings;
use bytes::{Bytes, BytesMut};
use mpos_iso8583::{Layout, MessageBuilder, Mti};
use std::collections::VecDeque;

/// A test card that passes the Luhn check.
const CARD: &str = "4276550012341239";
/// Approved purchases each device remembers for refunds and reversals.
pub(super) const RECENT: usize = 64;

/// What a request in flight was.
pub(super) enum Sent {
    /// A purchase, remembered for a later refund or reversal if approved.
    Purchase {
        /// Its STAN.
        stan: String,
        /// Its DE 7.
        de7: String,
        /// Its amount, minor units.
        amount: u64,
    },
    /// A refund (its STAN).
    Refund(String),
    /// A reversal (its STAN).
    Reversal(String),
}

impl Sent {
    /// The request's STAN, which its answer must echo.
    pub(super) fn stan(&self) -> &str {
        match self {
            Sent::Purchase { stan, .. } | Sent::Refund(stan) | Sent::Reversal(stan) => stan,
        }
    }
}

/// An approved purchase a later refund or reversal can name.
pub(super) struct Approved {
    /// Its DE 37.
    pub(super) rrn: String,
    /// Its STAN.
    pub(super) stan: String,
    /// Its DE 7.
    pub(super) de7: String,
    /// Its amount, minor units.
    pub(super) amount: u64,
}

/// How a device proves who it is when signing on.
pub(super) enum Credential<'a> {
    /// The app password (DE 48).
    Password(&'a str),
    /// The ticket of the last 0810 (DE 61).
    Ticket(&'a str),
}

/// One device's request state: its STANs and the approvals it remembers.
pub(super) struct Requests {
    next_stan: u32,
    count: u64,
    recent: VecDeque<Approved>,
}

impl Requests {
    /// A device's first state; the STANs start where `serial` and the clock say.
    pub(super) fn new(serial: &str) -> Self {
        Requests {
            next_stan: stan_seed(serial),
            count: 0,
            recent: VecDeque::with_capacity(RECENT),
        }
    }

    /// An 0800 sign-on of `serial`.
    pub(super) fn sign_on(
        &mut self,
        settings: &Settings,
        serial: &str,
        credential: Credential<'_>,
    ) -> Bytes {
        let (field, value) = match credential {
            Credential::Password(password) => (48, password),
            Credential::Ticket(ticket) => (61, ticket),
        };
        let stan = self.stan();
        encode(
            &settings.layout,
            settings.mtis.network,
            &[
                (7, &de7()),
                (11, &stan),
                (field, value),
                (62, serial),
                (70, "001"),
            ],
        )
    }

    /// An 0800 echo (allowed before sign-on).
    pub(super) fn echo(&mut self, settings: &Settings) -> Bytes {
        let stan = self.stan();
        encode(
            &settings.layout,
            settings.mtis.network,
            &[(7, &de7()), (11, &stan), (70, "301")],
        )
    }

    /// Remembers an approved purchase for later refunds and reversals.
    pub(super) fn approved(&mut self, sent: Sent, rrn: &str) {
        if let Sent::Purchase { stan, de7, amount } = sent {
            if self.recent.len() == RECENT {
                self.recent.pop_front();
            }
            self.recent.push_back(Approved {
                rrn: rrn.to_owned(),
                stan,
                de7,
                amount,
            });
        }
    }

    /// The next payment: mostly purchases; 5 in 100 a small refund of the
    /// oldest remembered approval, 3 in 100 the reversal of the newest (never
    /// refunded, so the reversal is allowed).
    pub(super) fn next_payment(&mut self, settings: &Settings) -> (Bytes, Sent) {
        self.count += 1;
        let stan = self.stan();
        let de7 = de7();
        let card = [
            (2, CARD.to_owned()),
            (14, "2812".to_owned()),
            (22, "071".to_owned()),
        ];
        let mut fields: Vec<(u8, String)> = Vec::with_capacity(14);
        // Both need two approvals remembered, so that a reversal (of the
        // newest) never names the purchase the refunds took from (the oldest):
        // the host would answer 12.
        let original = self.recent.front().filter(|_| self.recent.len() >= 2);
        let (mti, sent) = match (self.count % 100, original) {
            (0..=4, Some(original)) => {
                fields.extend(card);
                fields.extend([
                    (3, "200000".to_owned()),
                    (4, format!("{:012}", 100)),
                    (37, original.rrn.clone()),
                ]);
                (settings.mtis.financial, Sent::Refund(stan.clone()))
            }
            (5..=7, Some(_)) => {
                let original = self
                    .recent
                    .pop_back()
                    .map(|o| (o.stan, o.de7, o.amount))
                    .unwrap_or_default();
                fields.extend([
                    (3, "000000".to_owned()),
                    (4, format!("{:012}", original.2)),
                    (
                        90,
                        format!("0200{}{}{}", original.0, original.1, "0".repeat(22)),
                    ),
                ]);
                (settings.mtis.reversal, Sent::Reversal(stan.clone()))
            }
            _ => {
                // Whole rubles: never the simulator's 51 or 05 endings.
                let amount = 1_000 + (self.count % 90) * 100;
                fields.extend(card);
                fields.extend([(3, "000000".to_owned()), (4, format!("{amount:012}"))]);
                (
                    settings.mtis.financial,
                    Sent::Purchase {
                        stan: stan.clone(),
                        de7: de7.clone(),
                        amount,
                    },
                )
            }
        };
        fields.extend([
            (7, de7),
            (11, stan),
            (41, settings.terminal.clone()),
            (42, settings.merchant.clone()),
            (49, "933".to_owned()),
        ]);
        fields.sort_by_key(|(n, _)| *n);
        let borrowed: Vec<(u8, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        (encode(&settings.layout, mti, &borrowed), sent)
    }

    fn stan(&mut self) -> String {
        let stan = format!("{:06}", self.next_stan % 1_000_000);
        self.next_stan = (self.next_stan + 1) % 1_000_000;
        stan
    }
}

/// DE 7 now, `MMDDhhmmss`.
fn de7() -> String {
    jiff::Timestamp::now().strftime("%m%d%H%M%S").to_string()
}

/// Encodes a message of the load generator's own making.
pub(super) fn encode(layout: &Layout, mti: Mti, fields: &[(u8, &str)]) -> Bytes {
    let builder = MessageBuilder::from_fields(mti, fields);
    let mut out = BytesMut::with_capacity(256);
    // The load generator's own messages are valid by construction.
    let _ = layout.encode(&builder, &mut out);
    out.freeze()
}

/// A starting STAN that differs between devices and between runs, so that
/// (device, STAN, DE 7) keys of two runs in the same second do not collide.
fn stan_seed(serial: &str) -> u32 {
    let nanos = jiff::Timestamp::now().subsec_nanosecond().unsigned_abs();
    nanos.wrapping_add(serial_hash(serial)) % 1_000_000
}

/// A small hash of a serial, to spread per-device seeds.
pub(super) fn serial_hash(serial: &str) -> u32 {
    serial
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// A device whose every payment is approved before the next is sent
    /// (open loop at a low rate), over several hundred payments.
    #[test]
    fn a_reversal_never_names_a_purchase_that_was_refunded() {
        let settings = Settings::for_tests();
        let mut requests = Requests::new("LOAD-0001");
        let mut refunded: HashSet<String> = HashSet::new();
        let mut rrns_by_stan = std::collections::HashMap::new();
        let (mut refunds, mut reversals) = (0, 0);
        for n in 0..1_000 {
            let (bytes, sent) = requests.next_payment(&settings);
            let message = settings.layout.decode(&bytes).unwrap();
            match &sent {
                Sent::Refund(_) => {
                    refunds += 1;
                    refunded.insert(message.str(37).unwrap().to_owned());
                }
                Sent::Reversal(_) => {
                    reversals += 1;
                    let original_stan = &message.str(90).unwrap()[4..10];
                    let rrn: &String = &rrns_by_stan[original_stan];
                    assert!(
                        !refunded.contains(rrn),
                        "payment {n} reverses refunded {rrn}"
                    );
                }
                Sent::Purchase { stan, .. } => {
                    let rrn = format!("{n:012}");
                    rrns_by_stan.insert(stan.clone(), rrn.clone());
                    requests.approved(sent, &rrn);
                }
            }
        }
        assert!(
            refunds > 20 && reversals > 10,
            "{refunds} refunds, {reversals} reversals"
        );
    }
}
