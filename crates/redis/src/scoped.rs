//! What the rate limiter and the idempotency store share: keys scoped to
//! one caller (or client address).
//!
//! A scoped key is `<prefix>:<kind>:{<scope>}:<rest>`: the scope is the
//! Redis Cluster hash tag, so everything of one caller lives in one slot
//! and every script touches one slot. Braces in the scope would move the
//! tag, so they (and `%`, spaces and control bytes) are percent-encoded.

use std::fmt::Write as _;

use crate::keys::KeyPrefix;

/// `<prefix>:<kind>:{<scope>}:<rest>`, with the scope made tag-safe.
pub(crate) fn scoped_key(prefix: &KeyPrefix, kind: &str, scope: &str, rest: &str) -> String {
    let mut key = String::with_capacity(prefix.as_str().len() + scope.len() + rest.len() + 8);
    let _ = write!(key, "{prefix}:{kind}:{{");
    for byte in scope.bytes() {
        if matches!(byte, b'{' | b'}' | b'%') || !byte.is_ascii_graphic() {
            let _ = write!(key, "%{byte:02X}");
        } else {
            key.push(byte as char);
        }
    }
    key.push_str("}:");
    key.push_str(rest);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_cannot_move_the_hash_tag() {
        let prefix = KeyPrefix::parse("p").unwrap();
        assert_eq!(
            scoped_key(&prefix, "rl", "c:alice", "read"),
            "p:rl:{c:alice}:read"
        );
        let key = scoped_key(&prefix, "idem", "a}b{c %", "k{1}");
        assert_eq!(key, "p:idem:{a%7Db%7Bc%20%25}:k{1}");
        let tag = &key[key.find('{').unwrap()..=key.find('}').unwrap()];
        assert_eq!(tag, "{a%7Db%7Bc%20%25}");
    }
}
