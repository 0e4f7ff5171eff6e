//! The domain's [`Ledger`] over the store: devices and terminals from the
//! in-memory directory, transaction lookups through a write job's [`Tx`].
//! Used inside [`crate::Store::write`], a decision and the insert it leads
//! to are one atomic step.
//!
//! The rules read the ledger through `&self` while the store's handles are
//! taken `&mut` (a PostgreSQL client needs it): the handle sits in a
//! `RefCell`, borrowed for one lookup at a time, which the rules' one
//! thread cannot overlap.

use crate::directory::Snapshot;
use crate::error::StoreError;
use crate::ops::transactions::{self, Kind};
use crate::unit::Tx;
use mpos_domain::card::PanHash;
use mpos_domain::ids::{
    DeviceSerial, MerchantId, OriginalData, Rrn, Stan, TerminalId, TransmissionTime,
};
use mpos_domain::money::{Amount, Currency};
use mpos_domain::mti::Mti;
use mpos_domain::rules::{
    DeviceView, Fingerprint, Ledger, RefundTarget, ReversalTarget, TerminalView,
};
use std::cell::RefCell;
use std::sync::Arc;

/// The state the rules read: a directory snapshot and a write job's
/// transaction, lent for as long as the rules decide.
pub struct SqlLedger<'t, 'a> {
    tx: RefCell<&'t mut Tx<'a>>,
    directory: Arc<Snapshot>,
}

impl<'t, 'a> SqlLedger<'t, 'a> {
    /// A ledger over `tx` with the devices and terminals of `directory`.
    pub fn new(tx: &'t mut Tx<'a>, directory: Arc<Snapshot>) -> Self {
        SqlLedger {
            tx: RefCell::new(tx),
            directory,
        }
    }
}

/// A device of the directory as the rules see it.
pub fn device_view(directory: &Snapshot, serial: &DeviceSerial) -> Option<DeviceView> {
    let device = directory.devices.get(serial.as_str())?;
    Some(DeviceView {
        merchant_id: MerchantId::new(&device.merchant_id).ok()?,
        blocked: device.blocked,
        credentials_version: device.credentials_version,
    })
}

fn hash(bytes: Option<Vec<u8>>) -> Option<PanHash> {
    bytes
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .map(PanHash)
}

impl Ledger for SqlLedger<'_, '_> {
    type Error = StoreError;

    fn device(&self, serial: &DeviceSerial) -> Option<DeviceView> {
        device_view(&self.directory, serial)
    }

    fn terminal(&self, id: &TerminalId) -> Option<TerminalView> {
        let terminal = self.directory.terminals.get(id.as_str())?;
        Some(TerminalView {
            merchant_id: MerchantId::new(&terminal.merchant_id).ok()?,
            active: terminal.active,
            currency: Currency::new(terminal.currency).ok()?,
            limit: terminal.limit_minor.map(Amount::from_minor),
        })
    }

    fn prior(
        &self,
        device: &DeviceSerial,
        mti: Mti,
        stan: &Stan,
        transmission_time: &TransmissionTime,
    ) -> Result<Option<Fingerprint>, StoreError> {
        let prior = transactions::find_by_key(
            &mut **self.tx.borrow_mut(),
            device.as_str(),
            mti,
            stan.as_str(),
            transmission_time.as_str(),
        )?;
        // A fingerprint of another length never matches: answered 94.
        Ok(prior.map(|p| {
            Fingerprint(<[u8; 32]>::try_from(p.fingerprint.as_slice()).unwrap_or([0; 32]))
        }))
    }

    fn refund_target(&self, rrn: &Rrn) -> Result<Option<RefundTarget>, StoreError> {
        let Some(t) = transactions::find_refund_target(&mut **self.tx.borrow_mut(), rrn.as_str())?
        else {
            return Ok(None);
        };
        let Ok(merchant_id) = MerchantId::new(&t.merchant_id) else {
            return Ok(None);
        };
        Ok(Some(RefundTarget {
            id: t.id,
            merchant_id,
            pan_hash: hash(t.pan_hash),
            amount: Amount::from_minor(t.amount_minor),
            approved: t.approved,
            reversed: t.reversed,
            refunded: Amount::from_minor(t.refunded_minor),
        }))
    }

    fn reversal_target(
        &self,
        device: &DeviceSerial,
        original: &OriginalData,
    ) -> Result<Option<ReversalTarget>, StoreError> {
        let target = transactions::find_reversal_target(
            &mut **self.tx.borrow_mut(),
            device.as_str(),
            original.stan.as_str(),
            original.transmission_time.as_str(),
        )?;
        Ok(target.map(|t| ReversalTarget {
            id: t.id,
            is_purchase: t.kind == Kind::Purchase,
            amount: Amount::from_minor(t.amount_minor),
            reversed: t.reversed,
            has_refunds: t.has_refunds,
        }))
    }
}
