//! The dashboard's lists with how many their filters match, read side by side: a count stops
//! at a cap, so a broad filter over a million postings costs a bounded walk.

use ozontrack_db::{AlertFilter, Database, PostingQuery, PostingSummary};
use ozontrack_domain::alert::AlertRecord;

use crate::Error;

/// Lists count what their filters match up to this many.
pub const COUNTED_AT_MOST: u64 = 10_000;

/// How many a filter matches, on every page of its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    Exactly(u64),
    /// The count stopped here.
    MoreThan(u64),
}

impl Total {
    /// A count of up to `COUNTED_AT_MOST + 1`, as the database gives it.
    fn from_count(counted: u64) -> Self {
        if counted > COUNTED_AT_MOST {
            Self::MoreThan(COUNTED_AT_MOST)
        } else {
            Self::Exactly(counted)
        }
    }
}

/// One page of a list, and how many its filter matches.
#[derive(Debug, Clone)]
pub struct Counted<T> {
    pub items: Vec<T>,
    pub total: Total,
}

/// A page of the postings list (the query's cursor and limit), with how many match.
pub async fn postings<D: Database>(
    db: &D,
    query: &PostingQuery,
) -> Result<Counted<PostingSummary>, Error> {
    let (items, counted) = tokio::try_join!(
        db.postings_page(query),
        db.count_matching(query, COUNTED_AT_MOST)
    )?;
    Ok(Counted {
        items,
        total: Total::from_count(counted),
    })
}

/// The alerts the filter shows (its limit), with how many match.
pub async fn alerts<D: Database>(
    db: &D,
    filter: &AlertFilter,
) -> Result<Counted<AlertRecord>, Error> {
    let (items, counted) =
        tokio::try_join!(db.alerts(filter), db.count_alerts(filter, COUNTED_AT_MOST))?;
    Ok(Counted {
        items,
        total: Total::from_count(counted),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_past_the_cap_is_more_than_the_cap() {
        assert_eq!(Total::from_count(0), Total::Exactly(0));
        assert_eq!(
            Total::from_count(COUNTED_AT_MOST),
            Total::Exactly(COUNTED_AT_MOST)
        );
        assert_eq!(
            Total::from_count(COUNTED_AT_MOST + 1),
            Total::MoreThan(COUNTED_AT_MOST)
        );
    }
}
