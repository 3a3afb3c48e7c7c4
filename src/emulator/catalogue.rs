//! The event catalogue the emulator serves (vntana-api.md, "Event catalogue"): three
//! categories, fixed names, the two uuids the spec gives and UUIDv5 of the name for the rest.

use std::sync::LazyLock;

use uuid::Uuid;

use crate::api::ids::EventUuid;
use crate::api::wire::{Event, EventCatalogue, EventCategory, Grid};

/// One event of the catalogue with its category.
#[derive(Debug, Clone)]
pub struct CatalogueEvent {
    pub uuid: EventUuid,
    pub name: &'static str,
    pub description: &'static str,
    pub category: &'static str,
}

const EVENTS: &[(&str, &str, &str)] = &[
    (
        "Product",
        "product.added",
        "A product was added to a folder.",
    ),
    (
        "Product",
        "product.pending",
        "A product's 3D asset is waiting to be processed.",
    ),
    (
        "Product",
        "product.processing",
        "A product's 3D asset is being optimized.",
    ),
    (
        "Product",
        "product.completed",
        "A product's 3D asset finished processing.",
    ),
    (
        "Product",
        "product.failed",
        "Processing a product's 3D asset failed.",
    ),
    (
        "Product",
        "product.terminated",
        "Processing a product's 3D asset was cancelled.",
    ),
    ("Product", "product.published", "A product was published."),
    ("Product", "product.deleted", "A product was deleted."),
    (
        "Folder",
        "client.added",
        "A folder (client) was added to the organization.",
    ),
    (
        "User",
        "user.added",
        "A user was added to the organization.",
    ),
    (
        "User",
        "user.revoked",
        "A user's access to the organization was revoked.",
    ),
];

/// The uuids vntana-api.md fixes; the rest are derived from the name.
fn uuid_of(name: &str) -> Uuid {
    match name {
        "product.added" => Uuid::from_u128(0x1a42_6e7d_5e41_480c_b00f_9f46_ca12_e5ca),
        "product.completed" => Uuid::from_u128(0xd2c8_4a34_5abc_4d3e_bcaf_45b5_a740_463d),
        _ => Uuid::new_v5(
            &Uuid::NAMESPACE_URL,
            format!("vntana:event:{name}").as_bytes(),
        ),
    }
}

fn category_uuid(category: &str) -> String {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("vntana:event-category:{category}").as_bytes(),
    )
    .to_string()
}

static CATALOGUE: LazyLock<Vec<CatalogueEvent>> = LazyLock::new(|| {
    EVENTS
        .iter()
        .map(|&(category, name, description)| CatalogueEvent {
            uuid: EventUuid::new(uuid_of(name).to_string()),
            name,
            description,
            category,
        })
        .collect()
});

/// Every event, categories in catalogue order.
pub fn events() -> &'static [CatalogueEvent] {
    &CATALOGUE
}

/// The event with this uuid.
pub fn by_uuid(uuid: &EventUuid) -> Option<&'static CatalogueEvent> {
    CATALOGUE.iter().find(|e| &e.uuid == uuid)
}

/// The event with this name.
pub fn by_name(name: &str) -> Option<&'static CatalogueEvent> {
    CATALOGUE.iter().find(|e| e.name == name)
}

/// The catalogue grid of the given events, grouped by category in catalogue order;
/// `totalCount` counts the entries of the grid it stands beside.
pub fn grid_of<'a>(selected: impl Fn(&CatalogueEvent) -> bool + 'a) -> Grid<EventCategory> {
    let mut categories: Vec<EventCategory> = Vec::new();
    for event in CATALOGUE.iter().filter(|e| selected(e)) {
        let entry = Event {
            uuid: event.uuid.clone(),
            name: event.name.to_owned(),
            description: event.description.to_owned(),
        };
        match categories.last_mut() {
            Some(last) if last.category == event.category => last.events.push(entry),
            _ => categories.push(EventCategory {
                uuid: category_uuid(event.category),
                category: event.category.to_owned(),
                total_count: 0,
                events: vec![entry],
            }),
        }
    }
    for category in &mut categories {
        category.total_count = category.events.len() as u64;
    }
    Grid::of(categories)
}

/// The whole catalogue, as `GET /v1/webhooks/events` answers it.
pub fn full() -> EventCatalogue {
    grid_of(|_| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_fixes_two_uuids_and_the_others_are_stable() {
        assert_eq!(
            by_name("product.added").unwrap().uuid.as_str(),
            "1a426e7d-5e41-480c-b00f-9f46ca12e5ca"
        );
        assert_eq!(
            by_name("product.completed").unwrap().uuid.as_str(),
            "d2c84a34-5abc-4d3e-bcaf-45b5a740463d"
        );
        let failed = by_name("product.failed").unwrap();
        assert_eq!(by_uuid(&failed.uuid).unwrap().name, "product.failed");
    }

    #[test]
    fn the_full_catalogue_has_three_categories_counting_their_events() {
        let catalogue = full();
        let shape: Vec<(&str, u64)> = catalogue
            .grid
            .iter()
            .map(|c| (c.category.as_str(), c.total_count))
            .collect();
        assert_eq!(shape, [("Product", 8), ("Folder", 1), ("User", 2)]);
        assert_eq!(catalogue.total_count, 3);
    }
}
