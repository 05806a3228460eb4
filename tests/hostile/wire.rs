//! Hostile modes for wire details and URLs.

use super::{Conn, Next, Request};

/// Answer `req` if `behaviour` is one of this file's modes.
pub fn serve(behaviour: &str, req: &Request, conn: &mut Conn) -> std::io::Result<Option<Next>> {
    let _ = (behaviour, req, conn);
    Ok(None)
}
