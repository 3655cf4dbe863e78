//! The report's figures, with labels in the shell's language.

use std::collections::HashMap;

use vigil_core::taxonomy::label;
use vigil_core::{self as core, Taxonomy};

use super::IncidentStatus;

/// The figures of a report: one row per phase and category that has incidents.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ReportFigures {
    /// The statuses counted.
    pub counted: Vec<IncidentStatus>,
    /// Reports counted.
    pub reports: u64,
    /// By phase and category, in the taxonomy's order.
    pub rows: Vec<CategoryFigures>,
}

/// The figures of one category in one phase.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CategoryFigures {
    /// Phase id.
    pub phase: String,
    /// Category id.
    pub category: String,
    /// The category's label in the requested language.
    pub label: String,
    /// Events (each report is one event for now).
    pub events: u64,
    /// People affected, summed over events.
    pub people: u64,
    /// Whether `people` is a lower bound ("at least").
    pub people_is_lower_bound: bool,
    /// Distinct cities.
    pub cities: u64,
    /// Distinct people identified by name.
    pub named_people: u64,
    /// Events whose names are sealed to the coordinators, which this device cannot
    /// read: `named_people` does not count them.
    pub sealed_events: u64,
    /// People affected by preventive persecution.
    pub preventive: u64,
    /// People in whose name someone else voted.
    pub impersonation: u64,
    /// Shortest detention, in hours, if known.
    pub held_hours_min: Option<i64>,
    /// Longest detention, in hours, if known.
    pub held_hours_max: Option<i64>,
    /// People by legal article (`CoAO 488`).
    pub by_article: HashMap<String, u64>,
    /// People by context (campaigning, observation, protest).
    pub by_context: HashMap<String, u64>,
    /// People by their role.
    pub by_affected_role: HashMap<String, u64>,
    /// People by grounds.
    pub by_grounds: HashMap<String, u64>,
}

impl ReportFigures {
    pub(crate) fn new(report: &core::Report, taxonomy: &Taxonomy, lang: &str) -> Self {
        let mut rows = Vec::new();
        for phase in &taxonomy.phases {
            for category in &taxonomy.categories {
                let Some(f) = report.get(&phase.id, &category.id) else {
                    continue;
                };
                rows.push(CategoryFigures {
                    phase: phase.id.clone(),
                    category: category.id.clone(),
                    label: label(&category.label, lang, &category.id).to_owned(),
                    events: f.events,
                    people: f.people,
                    people_is_lower_bound: f.people_is_lower_bound,
                    cities: f.cities as u64,
                    named_people: f.named_people as u64,
                    sealed_events: f.sealed_events,
                    preventive: f.preventive,
                    impersonation: f.impersonation,
                    held_hours_min: f.held_hours_min,
                    held_hours_max: f.held_hours_max,
                    by_article: f.by_article.clone().into_iter().collect(),
                    by_context: f.by_context.clone().into_iter().collect(),
                    by_affected_role: f.by_affected_role.clone().into_iter().collect(),
                    by_grounds: f.by_grounds.clone().into_iter().collect(),
                });
            }
        }
        Self {
            counted: report.counted.iter().map(|s| (*s).into()).collect(),
            reports: report.reports,
            rows,
        }
    }
}
