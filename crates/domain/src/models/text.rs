use std::fmt;

use serde::{Serialize, Serializer};

/// Why a raw value was refused at the edge; the message is safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(String);

impl ParseError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// A name or place: 1..=255 characters, not blank, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label(String);

impl Label {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(field: &str, raw: &str) -> Result<Self, ParseError> {
        let chars = raw.chars().count();
        if raw.trim().is_empty() || chars > Self::MAX_CHARS {
            return Err(ParseError::new(format!(
                "{field} must be 1 to 255 characters"
            )));
        }
        if raw.chars().any(char::is_control) {
            return Err(ParseError::new(format!(
                "{field} must not contain control characters"
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Label {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded_and_not_blank() {
        assert!(Label::parse("name", "Concert").is_ok());
        assert!(Label::parse("name", &"x".repeat(255)).is_ok());
        assert!(Label::parse("name", &"x".repeat(256)).is_err());
        assert!(Label::parse("name", "   ").is_err());
        assert!(Label::parse("name", "a\u{7}b").is_err());
        assert_eq!(
            Label::parse("location", "").unwrap_err().to_string(),
            "location must be 1 to 255 characters"
        );
    }
}
