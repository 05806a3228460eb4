//! How a request ended, as a value: the analysis branches on it, never on
//! the wording of an error.

use serde::{Deserialize, Serialize};

/// How a request ended. The human reason of anything but `Ok` is in the
/// record's `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    /// Answered in full.
    Ok,
    /// The server or the connection failed it: counted in the error rate.
    Failed,
    /// Still streaming when its trial's duration (and grace) ended: cut off
    /// by the harness, not failed by the server, so left out of the error
    /// rate.
    Cancelled,
    /// A session's turn never sent because an earlier turn failed (it has no
    /// history to send); a failure of the conversation, counted as one.
    Unsent,
}

impl RequestStatus {
    pub fn is_ok(self) -> bool {
        self == RequestStatus::Ok
    }

    /// The name a journal line and the `status` column carry.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Ok => "ok",
            RequestStatus::Failed => "failed",
            RequestStatus::Cancelled => "cancelled",
            RequestStatus::Unsent => "unsent",
        }
    }

    /// The status of a line written before statuses were (`"ok": bool`,
    /// read as `Ok` or `Failed`), told from the reason those versions
    /// wrote: the one place their wording still counts, frozen here however
    /// the messages change.
    ///
    /// A line of today says `failed` only for a failure of the server, never
    /// with these reasons (the client and the sessions set `cancelled` and
    /// `unsent` themselves), so refining every `failed` line reads both alike.
    pub(super) fn refined_by_legacy_reason(self, error: Option<&str>) -> RequestStatus {
        const CANCELLED: &str = "cancelled: the trial's duration ended";
        const UNSENT: &str = "not sent: an earlier turn of this session failed";
        match (self, error) {
            (RequestStatus::Failed, Some(CANCELLED)) => RequestStatus::Cancelled,
            (RequestStatus::Failed, Some(UNSENT)) => RequestStatus::Unsent,
            (status, _) => status,
        }
    }
}

/// A journal line's `status`, or the `ok` of a line written before
/// statuses (its key an alias of `status`): `true` is `Ok`, `false` is
/// `Failed` until [`super::Record::from_json_line`] reads the line's reason
/// (see [`RequestStatus::refined_by_legacy_reason`]).
pub(super) fn read<'de, D: serde::Deserializer<'de>>(d: D) -> Result<RequestStatus, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = RequestStatus;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a status (ok, failed, cancelled, unsent) or a bool")
        }

        fn visit_bool<E: serde::de::Error>(self, ok: bool) -> Result<RequestStatus, E> {
            Ok(if ok {
                RequestStatus::Ok
            } else {
                RequestStatus::Failed
            })
        }

        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RequestStatus, E> {
            const NAMES: &[&str] = &["ok", "failed", "cancelled", "unsent"];
            Ok(match s {
                "ok" => RequestStatus::Ok,
                "failed" => RequestStatus::Failed,
                "cancelled" => RequestStatus::Cancelled,
                "unsent" => RequestStatus::Unsent,
                _ => return Err(E::unknown_variant(s, NAMES)),
            })
        }
    }
    d.deserialize_any(Visitor)
}
