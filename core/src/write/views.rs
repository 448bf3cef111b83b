//! Saved inbox views on the write path: who may save, change and delete
//! them, and what a valid view is. Views are nobody's case events. Any
//! person saves private views; only leads and admins share one or touch a
//! shared one; another agent's private view does not exist for the caller.

use jiff::Timestamp;

use crate::auth::{Permission, Role};
use crate::domain::ViewId;
use crate::store::{SavedView, Sequence, ViewFilters, WriteTxn};
use crate::write::command::{CommandError, Outcome, Refusal, ViewCommand, ViewEditor, check_name};

/// Longest view name, in characters.
pub const MAX_NAME: usize = 80;
/// Most views one owner may keep: a sidebar longer than this is no help.
pub const MAX_PER_OWNER: usize = 100;

/// Executes a view command.
///
/// # Errors
/// [`Refusal::ViewNotFound`], [`Refusal::ViewForbidden`],
/// [`Refusal::ViewNameTaken`], invalid names or filters, storage failures.
pub fn execute(txn: &mut dyn WriteTxn, command: &ViewCommand, now: Timestamp) -> Result<Outcome, CommandError> {
    match command {
        ViewCommand::Create { by, name, shared, filters, sort } => {
            check_may_change(None, by, *shared)?;
            let name = check_view_name(name)?;
            check_filters(filters)?;
            let seen = txn.views_for(&by.name)?;
            if seen.iter().filter(|v| v.owner == by.name).count() >= MAX_PER_OWNER {
                return Err(Refusal::Invalid(format!("at most {MAX_PER_OWNER} saved views per agent")).into());
            }
            check_name_free(&seen, &name, None)?;
            let view = SavedView {
                id: ViewId::new(txn.allocate(Sequence::View)?),
                name,
                owner: by.name.clone(),
                shared: *shared,
                filters: filters.clone(),
                sort: *sort,
                created_at: now,
                updated_at: now,
            };
            txn.put_view(&view)?;
            Ok(Outcome::View(view))
        }
        ViewCommand::Update { by, id, name, shared, filters, sort } => {
            let mut view = visible_view(txn, *id, by)?;
            check_may_change(Some(&view), by, shared.unwrap_or(view.shared))?;
            if let Some(name) = name {
                let name = check_view_name(name)?;
                check_name_free(&txn.views_for(&view.owner)?, &name, Some(view.id))?;
                view.name = name;
            }
            if let Some(filters) = filters {
                check_filters(filters)?;
                view.filters = filters.clone();
            }
            view.shared = shared.unwrap_or(view.shared);
            view.sort = sort.unwrap_or(view.sort);
            view.updated_at = now;
            txn.put_view(&view)?;
            Ok(Outcome::View(view))
        }
        ViewCommand::Delete { by, id } => {
            let view = visible_view(txn, *id, by)?;
            check_may_change(Some(&view), by, view.shared)?;
            txn.remove_view(view.id)?;
            Ok(Outcome::View(view))
        }
    }
}

/// The view `id` if `by` sees it.
fn visible_view(txn: &dyn WriteTxn, id: ViewId, by: &ViewEditor) -> Result<SavedView, CommandError> {
    match txn.view(id)? {
        Some(view) if view.visible_to(&by.name) => Ok(view),
        _ => Err(Refusal::ViewNotFound(id).into()),
    }
}

/// Whether `by` may leave `view` (`None`: a new one) with `shared_after`.
/// Pure: the rules of who may do what to a view, in one place.
///
/// # Errors
/// [`Refusal::ViewForbidden`], or [`Refusal::ViewNotFound`] for another
/// agent's private view.
pub fn check_may_change(view: Option<&SavedView>, by: &ViewEditor, shared_after: bool) -> Result<(), Refusal> {
    if !by.role.is_person() {
        return Err(Refusal::ViewForbidden("saved views belong to people, not integrations"));
    }
    if let Some(view) = view
        && !view.visible_to(&by.name)
    {
        return Err(Refusal::ViewNotFound(view.id));
    }
    let shared = shared_after || view.is_some_and(|v| v.shared);
    if shared && !may_share(by.role) {
        return Err(Refusal::ViewForbidden("only leads and admins may share views or change shared ones"));
    }
    Ok(())
}

fn may_share(role: Role) -> bool {
    role.allows(Permission::ManageViews)
}

/// A view name, trimmed: 1-80 characters, no control characters.
fn check_view_name(name: &str) -> Result<String, Refusal> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Refusal::Invalid(format!("a view name must be 1-{MAX_NAME} characters")));
    }
    Ok(name.to_owned())
}

fn check_filters(filters: &ViewFilters) -> Result<(), Refusal> {
    for (what, value) in [("team", &filters.team), ("tag", &filters.tag), ("assignee", &filters.assignee)] {
        if let Some(value) = value {
            check_name(what, value)?;
        }
    }
    Ok(())
}

/// Refuses `name` if a view in `seen` other than `except` has it, in any case.
fn check_name_free(seen: &[SavedView], name: &str, except: Option<ViewId>) -> Result<(), Refusal> {
    let lower = name.to_lowercase();
    if seen.iter().any(|v| Some(v.id) != except && v.name.to_lowercase() == lower) {
        return Err(Refusal::ViewNameTaken(name.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::CaseSort;

    fn view(owner: &str, shared: bool) -> SavedView {
        SavedView {
            id: ViewId::new(1),
            name: "Urgent".into(),
            owner: owner.into(),
            shared,
            filters: ViewFilters::default(),
            sort: CaseSort::Created,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn by(name: &str, role: Role) -> ViewEditor {
        ViewEditor { name: name.into(), role }
    }

    #[test]
    fn who_may_do_what_to_a_view() {
        use Role::{Admin, Agent, Integration, Lead};
        let (private, shared) = (view("sam", false), view("sam", true));
        /// The view (none: a new one), who, whether it is shared after, what happens.
        type Row<'a> = (Option<&'a SavedView>, ViewEditor, bool, Result<(), &'static str>);
        let cases: &[Row<'_>] = &[
            (None, by("sam", Agent), false, Ok(())),
            (None, by("sam", Agent), true, Err("forbidden")),
            (None, by("lee", Lead), true, Ok(())),
            (None, by("ada", Admin), true, Ok(())),
            (None, by("bot", Integration), false, Err("forbidden")),
            (Some(&private), by("sam", Agent), false, Ok(())),
            (Some(&private), by("sam", Agent), true, Err("forbidden")),
            (Some(&private), by("bea", Agent), false, Err("not found")),
            (Some(&private), by("lee", Lead), false, Err("not found")),
            (Some(&private), by("ada", Admin), false, Err("not found")),
            (Some(&shared), by("sam", Agent), true, Err("forbidden")),
            (Some(&shared), by("sam", Agent), false, Err("forbidden")),
            (Some(&shared), by("bea", Agent), true, Err("forbidden")),
            (Some(&shared), by("lee", Lead), true, Ok(())),
            (Some(&shared), by("ada", Admin), false, Ok(())),
        ];
        for (existing, editor, shared_after, expected) in cases {
            let got = check_may_change(*existing, editor, *shared_after).map_err(|e| match e {
                Refusal::ViewForbidden(_) => "forbidden",
                Refusal::ViewNotFound(_) => "not found",
                other => panic!("unexpected {other:?}"),
            });
            assert_eq!(&got, expected, "{editor:?} on {existing:?}, shared after: {shared_after}");
        }
    }

    #[test]
    fn names_are_trimmed_bounded_and_unique_in_any_case() {
        assert_eq!(check_view_name("  Urgent  ").unwrap(), "Urgent");
        assert!(check_view_name(" ").is_err());
        assert!(check_view_name(&"x".repeat(MAX_NAME + 1)).is_err());
        assert!(check_view_name("a\nb").is_err());
        let seen = [view("sam", false)];
        assert!(matches!(check_name_free(&seen, "URGENT", None), Err(Refusal::ViewNameTaken(_))));
        assert!(check_name_free(&seen, "urgent", Some(ViewId::new(1))).is_ok(), "renaming to itself");
        assert!(check_name_free(&seen, "Other", None).is_ok());
    }
}
