//! A store's complaint categories: add, relabel, reorder, retire, mark severe. Each has a
//! label in every language Mend speaks (at least the store's own, which the others fall
//! back to); people see labels, programs and exports keep the stable key. A store that
//! never edited its list offers the six defaults, labelled from the catalogs. A retired
//! category leaves the form but stays on old cases.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::db::models::StoreCategory;
use crate::db::queries::{categories, stores};
use crate::db::{Db, DbConnection};
use crate::domain::case::complaint::categories_of;
use crate::domain::language::Language;

use super::audit::{record, Actor};
use super::fields::{self, FieldError, Problem, SetupError};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Category {
    pub key: String,
    /// Language code -> label.
    pub labels: BTreeMap<String, String>,
    pub severe: bool,
    pub retired: bool,
}

impl Category {
    /// The label in `lang`, else in the store's language, else English, else any, else
    /// the key itself.
    pub fn label(&self, lang: Language, store_language: &str) -> String {
        [lang.code(), store_language, "en"]
            .iter()
            .find_map(|l| self.labels.get(*l).filter(|v| !v.is_empty()))
            .or_else(|| self.labels.values().find(|v| !v.is_empty()))
            .cloned()
            .unwrap_or_else(|| self.key.clone())
    }

    /// The label typed for this language, or "" (the edit form's value).
    pub fn label_in(&self, code: &str) -> &str {
        self.labels.get(code).map_or("", String::as_str)
    }

    fn from_row(row: &StoreCategory) -> Category {
        Category {
            key: row.key.clone(),
            labels: serde_json::from_str(&row.labels).unwrap_or_default(),
            severe: row.severe,
            retired: row.retired_at.is_some(),
        }
    }

    /// A default category (or one named in the store's old comma-separated list), labelled
    /// from the catalogs where they have it.
    fn default_for(key: &str) -> Category {
        Category {
            key: key.to_owned(),
            labels: Language::all()
                .map(|l| (l.code().to_owned(), l.category_label(key)))
                .collect(),
            severe: false,
            retired: false,
        }
    }
}

/// A store's categories, retired ones too, in order.
pub fn of_store(c: &mut DbConnection, location_id: &str) -> diesel::QueryResult<Vec<Category>> {
    let rows = categories::for_location(c, location_id)?;
    if !rows.is_empty() {
        return Ok(rows.iter().map(Category::from_row).collect());
    }
    let configured = crate::db::queries::locations::categories(c, location_id)?;
    Ok(categories_of(configured.as_deref())
        .iter()
        .map(|k| Category::default_for(k))
        .collect())
}

/// The categories the form offers.
pub fn in_use(c: &mut DbConnection, location_id: &str) -> diesel::QueryResult<Vec<Category>> {
    Ok(of_store(c, location_id)?
        .into_iter()
        .filter(|k| !k.retired)
        .collect())
}

/// Category labels for views over many stores (the inbox, the dashboard, the weekly
/// email): each store's own label for its own keys, the catalogs' for the rest. Read once,
/// whatever the number of stores.
#[derive(Debug, Default)]
pub struct Labels {
    /// (store, key) -> the category and its store's language.
    own: std::collections::HashMap<(String, String), (Category, String)>,
    /// key -> the store (the first by id) whose label a view over many stores shows.
    first_store: std::collections::HashMap<String, String>,
}

impl Labels {
    pub fn read(c: &mut DbConnection, location_ids: &[String]) -> diesel::QueryResult<Labels> {
        let mut labels = Labels::default();
        for (row, language) in categories::for_locations(c, location_ids)? {
            let first = labels.first_store.entry(row.key.clone()).or_default();
            if first.is_empty() || row.location_id < *first {
                first.clone_from(&row.location_id);
            }
            labels.own.insert(
                (row.location_id.clone(), row.key.clone()),
                (Category::from_row(&row), language),
            );
        }
        Ok(labels)
    }

    /// The label of `key` at a store; without a store (a chart over several), the label
    /// one of them gave it (a store's own key, "category_1", means something only there).
    pub fn label(&self, location_id: Option<&str>, key: &str, lang: Language) -> String {
        let store = match location_id {
            Some(id) => Some(id),
            None => self.first_store.get(key).map(String::as_str),
        };
        let own = store.and_then(|id| self.own.get(&(id.to_owned(), key.to_owned())));
        own.map_or_else(
            || lang.category_label(key),
            |(k, store_language)| k.label(lang, store_language),
        )
    }
}

/// The label of a case's category from its store's own labels for it (as stored, JSON by
/// language) and the store's language, or the catalogs' when the store has no row for it:
/// what [`Labels::label`] gives for one case, without reading the store's whole list.
pub fn label_from_row(
    labels: Option<&str>,
    key: &str,
    lang: Language,
    store_language: &str,
) -> String {
    match labels {
        Some(json) => Category {
            key: key.to_owned(),
            labels: serde_json::from_str(json).unwrap_or_default(),
            severe: false,
            retired: false,
        }
        .label(lang, store_language),
        None => lang.category_label(key),
    }
}

/// The label of a case's category for a reader.
pub fn label_of(
    c: &mut DbConnection,
    location_id: &str,
    key: &str,
    lang: Language,
) -> diesel::QueryResult<String> {
    let store_language = stores::find(c, location_id)?
        .map(|s| s.default_language)
        .unwrap_or_default();
    Ok(of_store(c, location_id)?
        .into_iter()
        .find(|k| k.key == key)
        .map_or_else(
            || lang.category_label(key),
            |k| k.label(lang, &store_language),
        ))
}

/// Turns a store's virtual default list into rows, so that it can be edited.
fn materialize(c: &mut DbConnection, location_id: &str) -> Result<Vec<StoreCategory>, SetupError> {
    let rows = categories::for_location(c, location_id)?;
    if !rows.is_empty() {
        return Ok(rows);
    }
    let mut made = Vec::new();
    for (i, k) in of_store(c, location_id)?.into_iter().enumerate() {
        let row = StoreCategory {
            location_id: location_id.to_owned(),
            key: k.key,
            labels: serde_json::to_string(&k.labels).unwrap_or_else(|_| "{}".into()),
            position: i as i32,
            severe: false,
            retired_at: None,
        };
        categories::insert(c, &row)?;
        made.push(row);
    }
    Ok(made)
}

/// Labels as typed: trimmed, bounded; the store's language must have one.
fn parse_labels(
    labels: &[(Language, String)],
    store_language: &str,
) -> Result<BTreeMap<String, String>, FieldError> {
    let mut out = BTreeMap::new();
    for (lang, text) in labels {
        if let Some(v) = fields::optional("label", Some(text))? {
            out.insert(lang.code().to_owned(), v);
        }
    }
    if !out.contains_key(store_language) {
        return Err(FieldError::new("label", Problem::Empty, store_language));
    }
    Ok(out)
}

/// A key for a new category: its English (else store-language) label in lower-case
/// ASCII, or `category_N` when that leaves nothing or is taken.
fn new_key(labels: &BTreeMap<String, String>, store_language: &str, taken: &[String]) -> String {
    let from = labels
        .get("en")
        .or_else(|| labels.get(store_language))
        .cloned()
        .unwrap_or_default();
    let slug: String = from
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .split('_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_")
        .chars()
        .take(40)
        .collect();
    if !slug.is_empty() && !taken.contains(&slug) {
        return slug;
    }
    (1..)
        .map(|n| format!("category_{n}"))
        .find(|k| !taken.contains(k))
        .unwrap_or_default()
}

pub fn add(
    db: &Db,
    actor: &Actor,
    location_id: &str,
    labels: &[(Language, String)],
    severe: bool,
) -> Result<Category, SetupError> {
    db.write(|c| add_in(c, actor, location_id, labels, severe))
}

/// [`add`] inside the caller's transaction.
pub fn add_in(
    c: &mut DbConnection,
    actor: &Actor,
    location_id: &str,
    labels: &[(Language, String)],
    severe: bool,
) -> Result<Category, SetupError> {
    let store = stores::find(c, location_id)?.ok_or(SetupError::NotFound("store"))?;
    let labels = parse_labels(labels, &store.default_language)?;
    let rows = materialize(c, location_id)?;
    let taken: Vec<String> = rows.iter().map(|r| r.key.clone()).collect();
    let row = StoreCategory {
        location_id: location_id.to_owned(),
        key: new_key(&labels, &store.default_language, &taken),
        labels: serde_json::to_string(&labels).unwrap_or_else(|_| "{}".into()),
        position: rows.iter().map(|r| r.position + 1).max().unwrap_or(0),
        severe,
        retired_at: None,
    };
    categories::insert(c, &row)?;
    let made = Category::from_row(&row);
    record(
        c,
        actor,
        "category.create",
        &format!("{} / {}", store.name, row.key),
        None::<&()>,
        Some(&made),
    )?;
    Ok(made)
}

/// What to do to one category.
#[derive(Debug, Clone)]
pub enum CategoryChange {
    Relabel {
        labels: Vec<(Language, String)>,
        severe: bool,
    },
    Retire,
    Restore,
    /// -1 up, 1 down.
    Shift(i32),
}

pub fn change(
    db: &Db,
    actor: &Actor,
    location_id: &str,
    key: &str,
    what: &CategoryChange,
) -> Result<(), SetupError> {
    db.write(|c| {
        let store = stores::find(c, location_id)?.ok_or(SetupError::NotFound("store"))?;
        let mut rows = materialize(c, location_id)?;
        let at = rows
            .iter()
            .position(|r| r.key == key)
            .ok_or(SetupError::NotFound("category"))?;
        let before = Category::from_row(&rows[at]);
        match what {
            CategoryChange::Relabel { labels, severe } => {
                let labels = parse_labels(labels, &store.default_language)?;
                rows[at].labels = serde_json::to_string(&labels).unwrap_or_else(|_| "{}".into());
                rows[at].severe = *severe;
            }
            CategoryChange::Retire => {
                if rows.iter().filter(|r| r.retired_at.is_none()).count() <= 1 {
                    // The form needs at least one category.
                    return Err(FieldError::new("category", Problem::NeedsStore, key).into());
                }
                rows[at].retired_at = rows[at].retired_at.or(Some(crate::db::models::now_utc()));
            }
            CategoryChange::Restore => rows[at].retired_at = None,
            CategoryChange::Shift(by) => {
                let to = at as i64 + i64::from(*by);
                if to >= 0 && (to as usize) < rows.len() {
                    rows.swap(at, to as usize);
                }
            }
        }
        for (i, row) in rows.iter_mut().enumerate() {
            row.position = i as i32;
            categories::update(c, row)?;
        }
        let after = rows.iter().find(|r| r.key == key).map(Category::from_row);
        record(
            c,
            actor,
            "category.edit",
            &format!("{} / {key}", store.name),
            Some(&before),
            after.as_ref(),
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_fall_back_to_the_store_language_then_english() {
        let k = Category {
            key: "parking".into(),
            labels: [
                ("ko".to_owned(), "주차".to_owned()),
                ("en".to_owned(), "Parking".to_owned()),
            ]
            .into_iter()
            .collect(),
            severe: false,
            retired: false,
        };
        assert_eq!(k.label(Language::parse("ko").unwrap(), "ko"), "주차");
        assert_eq!(k.label(Language::parse("ja").unwrap(), "ko"), "주차");
        assert_eq!(k.label(Language::parse("pl").unwrap(), "pl"), "Parking");
    }

    #[test]
    fn new_keys_are_ascii_and_unique() {
        let labels: BTreeMap<String, String> =
            [("en".to_owned(), "Car park / Parking!".to_owned())]
                .into_iter()
                .collect();
        assert_eq!(new_key(&labels, "en", &[]), "car_park_parking");
        let korean: BTreeMap<String, String> =
            [("ko".to_owned(), "주차".to_owned())].into_iter().collect();
        assert_eq!(new_key(&korean, "ko", &["category_1".into()]), "category_2");
    }
}
