//! Keyset pages: a list asks for one row more than a page ([`limit`]), keeps a page ([`Page::of`])
//! and so knows whether another follows, without counting.

/// The rows to ask for: one more than a page of `size`.
pub fn limit(size: i64) -> i64 {
    size.saturating_add(1)
}

pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_more: bool,
}

impl<T> Page<T> {
    /// At most `size` of `rows`, and whether there were more.
    pub fn of(mut rows: Vec<T>, size: i64) -> Page<T> {
        let size = usize::try_from(size).unwrap_or(0);
        let has_more = rows.len() > size;
        rows.truncate(size);
        Page { rows, has_more }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_page_and_knows_if_more_follow() {
        assert_eq!(limit(50), 51);
        let full = Page::of(vec![1, 2, 3], 2);
        assert_eq!((full.rows, full.has_more), (vec![1, 2], true));
        let last = Page::of(vec![1, 2], 2);
        assert_eq!((last.rows, last.has_more), (vec![1, 2], false));
        assert!(Page::of(vec![1], -1).rows.is_empty());
    }
}
