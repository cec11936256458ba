//! Page size and page token of routing's list calls: the token is the offset of the
//! next page, so it stays valid across restarts and instances.

use kenduren_domain::FieldViolation;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    /// Rows to return.
    pub size: i64,
    /// Rows to skip.
    pub offset: i64,
}

impl Page {
    /// Validates `page_size` (0 means `default`, at most `max`) and `page_token`,
    /// adding a violation per bad field to `violations`.
    pub fn parse(
        page_size: i32,
        page_token: &str,
        default: i64,
        max: i64,
        violations: &mut Vec<FieldViolation>,
    ) -> Self {
        let mut bad = |field: &str, description: &str| {
            violations.push(FieldViolation {
                field: field.into(),
                description: description.into(),
            })
        };
        let size = match i64::from(page_size) {
            n if n < 0 => {
                bad("page_size", "must not be negative");
                default
            }
            0 => default,
            n => n.min(max),
        };
        let offset = if page_token.is_empty() {
            0
        } else {
            match page_token.parse::<i64>() {
                Ok(n) if n >= 0 => n,
                _ => {
                    bad("page_token", "is not a token this call returned");
                    0
                }
            }
        };
        Self { size, offset }
    }

    /// The token of the next page, or empty when `fetched` (one more row than the page
    /// size was asked for) shows this was the last one.
    pub fn next_token(&self, fetched: usize) -> String {
        if i64::try_from(fetched).unwrap_or(i64::MAX) > self.size {
            (self.offset + self.size).to_string()
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_negative_size_and_a_garbage_token_are_both_reported() {
        let mut v = Vec::new();
        Page::parse(-1, "x", 50, 100, &mut v);
        let fields: Vec<_> = v.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["page_size", "page_token"]);
    }

    #[test]
    fn the_size_is_capped_and_the_next_token_follows_the_last_row() {
        let mut v = Vec::new();
        let page = Page::parse(1000, "20", 50, 100, &mut v);
        assert!(v.is_empty());
        assert_eq!(
            page,
            Page {
                size: 100,
                offset: 20
            }
        );
        assert_eq!(page.next_token(101), "120");
        assert_eq!(page.next_token(100), "");
    }
}
