//! The API change report: one hand-written fixture pair per kind of change, each with its
//! classification; the People report from revision 20210302 to 20251117 as a snapshot;
//! and an independent walk of the two raw People documents that every difference found
//! there is in the report.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use discovery_codegen::changes::{
    compare, prepend_section, recorded_version, Bump, ChangeKind, ChangeReport, Impact, CHANGELOG_TITLE,
};
use serde_json::Value;

const PEOPLE_OLD: &str = include_str!("fixtures/people.v1.20210302.json");
const PEOPLE_NEW: &str = include_str!("../../discovery/people.v1.json");

/// A fixture from `tests/fixtures/changes/`: `{"old": document, "new": document}`.
fn fixture(name: &str) -> ChangeReport {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/changes").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let pair: Value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{name}: {err}"));
    compare(&pair["old"].to_string(), &pair["new"].to_string()).unwrap_or_else(|err| panic!("{name}: {err}"))
}

/// The classification of every change, in report order.
fn classified(report: &ChangeReport) -> Vec<(Impact, ChangeKind, &str)> {
    report.changes.iter().map(|c| (c.impact, c.kind, c.subject.as_str())).collect()
}

fn detail<'r>(report: &'r ChangeReport, kind: ChangeKind, subject: &str) -> &'r str {
    let change = report.changes.iter().find(|c| c.kind == kind && c.subject == subject);
    &change.unwrap_or_else(|| panic!("no {kind:?} change of {subject} in {:#?}", report.changes)).detail
}

use ChangeKind::*;
use Impact::{Additive, Breaking};

#[test]
fn methods_added_and_removed() {
    let report = fixture("methods");
    assert_eq!(
        classified(&report),
        [(Breaking, MethodRemoved, "t.things.remove"), (Additive, MethodAdded, "t.things.create")]
    );
    assert!(detail(&report, MethodAdded, "t.things.create").contains("`things().create()` -> `ThingsCreateCall`"));
}

#[test]
fn http_method_and_path_changes_are_breaking_on_the_wire() {
    let report = fixture("method_request_line");
    assert_eq!(
        classified(&report),
        [(Breaking, MethodChanged, "t.things.get"), (Breaking, MethodChanged, "t.things.touch")]
    );
    assert!(detail(&report, MethodChanged, "t.things.touch")
        .contains("`POST v1/{+name}:touch` -> `PATCH v1/{+name}:touch`"));
}

#[test]
fn reordered_arguments_are_breaking() {
    let report = fixture("argument_order");
    assert_eq!(classified(&report), [(Breaking, MethodChanged, "t.things.copy")]);
    assert!(detail(&report, MethodChanged, "t.things.copy").contains("from, to -> to, from"));
}

#[test]
fn new_optional_parameters_are_additive_and_new_required_ones_breaking() {
    let report = fixture("params_added");
    assert_eq!(
        classified(&report),
        [
            (Breaking, ParamAdded, "t.things.list(filter)"),
            // `pageToken` with a `nextPageToken` in the response: the method starts paging.
            (Additive, MethodChanged, "t.things.list"),
            (Additive, ParamAdded, "t.things.list(pageToken)"),
        ]
    );
    assert!(detail(&report, ParamAdded, "t.things.list(filter)").contains("a new argument `filter`"));
    assert!(detail(&report, ParamAdded, "t.things.list(pageToken)").contains("setter `.page_token()`"));
}

#[test]
fn removed_parameters_are_breaking() {
    let report = fixture("params_removed");
    assert_eq!(
        classified(&report),
        [(Breaking, ParamRemoved, "t.things.list(filter)"), (Breaking, ParamRemoved, "t.things.list(view)")]
    );
}

#[test]
fn parameters_made_required_or_optional_are_breaking() {
    let report = fixture("params_required");
    assert_eq!(
        classified(&report),
        [
            (Breaking, ParamMadeRequired, "t.things.list(a)"),
            (Breaking, ParamMadeRequired, "t.things.list(b)"),
            (Breaking, ParamMadeOptional, "t.things.list(c)"),
        ]
    );
    // `b` keeps `required: false`; the resolver reads "Required." in its description.
    assert!(detail(&report, ParamMadeRequired, "t.things.list(b)").contains("description now starts with `Required.`"));
    assert!(detail(&report, ParamMadeOptional, "t.things.list(c)").contains("set it with `.c()`"));
}

#[test]
fn retyped_parameters_are_breaking_unless_the_rust_type_stays() {
    let report = fixture("params_retyped");
    assert_eq!(
        classified(&report),
        [
            (Breaking, ParamRetyped, "t.things.list(pageSize)"),
            (Breaking, ParamRetyped, "t.things.list(tag)"),
            (Additive, ParamChanged, "t.things.list(since)"),
        ]
    );
    assert!(detail(&report, ParamRetyped, "t.things.list(pageSize)").contains("Rust `i32` -> `i64`"));
    assert!(detail(&report, ParamRetyped, "t.things.list(tag)").contains("(repeated)"));
}

#[test]
fn request_and_response_changes_are_breaking() {
    let report = fixture("request_response");
    assert_eq!(
        classified(&report),
        [
            (Breaking, Request, "t.things.ping"),
            (Breaking, Request, "t.things.update"),
            (Breaking, Response, "t.things.update"),
        ]
    );
    assert!(detail(&report, Request, "t.things.update").contains("`Thing` -> `Other`"));
    assert!(detail(&report, Response, "t.things.update").contains("`Thing` -> nothing"));
}

#[test]
fn schemas_added_removed_and_retyped() {
    let report = fixture("schemas");
    assert_eq!(
        classified(&report),
        [(Breaking, SchemaRemoved, "Gone"), (Breaking, SchemaChanged, "Label"), (Additive, SchemaAdded, "Added"),]
    );
    assert!(detail(&report, SchemaChanged, "Label").contains("`Label = String` -> type alias `Label = i64`"));
}

#[test]
fn fields_added_removed_retyped_and_inline_members_under_their_parent() {
    let report = fixture("fields");
    assert_eq!(
        classified(&report),
        [
            (Breaking, FieldRemoved, "Thing.legacy"),
            (Breaking, FieldRetyped, "Thing.count"),
            (Additive, FieldAdded, "Thing.meta.owner"),
            (Additive, FieldAdded, "Thing.size"),
            (Additive, FieldChanged, "Thing.note"),
        ]
    );
    assert!(detail(&report, FieldRetyped, "Thing.count").contains("`Option<i32>` -> `Option<i64>`"));
    assert!(detail(&report, FieldAdded, "Thing.meta.owner").contains("`ThingMeta::owner: Option<String>`"));
    assert!(detail(&report, FieldChanged, "Thing.note").contains("output only"));
    insta::assert_snapshot!("fields_markdown", report.with_crate_version("1.4.2").render_markdown());
}

#[test]
fn schemas_are_reported_with_the_type_the_ir_gave_them() {
    // `HTTPMode` and `HttpMode` convert to the same Rust name; the first keeps its spelling.
    let report = fixture("schema_names");
    assert_eq!(classified(&report), [(Breaking, SchemaChanged, "keyed"), (Additive, EnumValueAdded, "HTTPMode")]);
    assert!(detail(&report, EnumValueAdded, "HTTPMode").contains("`QUIC` added (`HTTPMode::Quic`)"));
    assert!(detail(&report, SchemaChanged, "keyed").contains("type alias `Keyed = i64` -> type alias `Keyed = i32`"));
}

#[test]
fn a_new_enum_value_that_renames_existing_variants_is_breaking() {
    let report = fixture("enum_names");
    assert_eq!(
        classified(&report),
        [
            (Breaking, EnumChanged, "Color"),
            (Breaking, EnumChanged, "State"),
            (Additive, EnumValueAdded, "Color"),
            (Additive, EnumValueAdded, "State"),
        ]
    );
    // `RED` takes the name `COLOR_RED` had without its type's prefix.
    assert_eq!(
        detail(&report, EnumChanged, "Color"),
        "Rust variant for `COLOR_RED` renamed `Red` -> `ColorRed`; `Color::Red` is now `RED`: code that used it still \
         compiles and means the other value"
    );
    assert_eq!(
        detail(&report, EnumValueAdded, "Color"),
        "`RED` added (`Color::Red`); read until now as `Color::UnknownValue(\"RED\")`"
    );
    assert_eq!(
        detail(&report, EnumChanged, "State"),
        "the variant for values the crate does not know renamed `UnknownValue` -> `UnrecognizedValue`"
    );
}

#[test]
fn enum_values_added_are_additive_and_removed_breaking() {
    let report = fixture("enum_values");
    assert_eq!(
        classified(&report),
        [
            (Breaking, EnumValueRemoved, "Thing.state"),
            (Additive, EnumValueAdded, "Color"),
            (Additive, EnumValueAdded, "Thing.tags"),
            (Additive, EnumValueAdded, "t.things.list(view)"),
        ]
    );
    assert!(detail(&report, EnumValueRemoved, "Thing.state").contains("`DELETED` removed (`ThingState::Deleted`)"));
    assert!(detail(&report, EnumValueAdded, "Thing.tags").contains("`C` added"));
}

#[test]
fn new_deprecations_are_additive_and_listed_apart() {
    let report = fixture("deprecations");
    assert_eq!(
        classified(&report),
        [
            (Additive, Deprecated, "Thing"),
            (Additive, Deprecated, "Thing.name"),
            (Additive, Deprecated, "Thing.state"),
            (Additive, Deprecated, "t.things.get"),
            (Additive, Deprecated, "t.things.get(view)"),
            (Additive, Deprecated, "things"),
            (Additive, Undeprecated, "Thing.old"),
        ]
    );
    assert!(detail(&report, Deprecated, "Thing.state").contains("value `DELETED` deprecated"));
    let counts = report.counts();
    assert_eq!((counts.breaking, counts.additive, counts.deprecated), (0, 1, 6));
    let markdown = report.render_markdown();
    let deprecated = &markdown[markdown.find("### Deprecated").expect("a Deprecated section")..];
    assert!(deprecated.contains("- `Thing.name`: field deprecated"), "{markdown}");
    assert_eq!(report.recommended_bump("0.4.0"), Bump::Patch);
    assert_eq!(report.recommended_bump("2.0.0"), Bump::Minor);
}

#[test]
fn scopes_dropped_from_a_method_are_breaking_and_added_ones_additive() {
    let report = fixture("scopes");
    assert_eq!(
        classified(&report),
        [
            (Breaking, ScopeRemoved, "https://t.example.com/auth/b"),
            (Breaking, MethodScopes, "t.things.list"),
            (Additive, ScopeAdded, "https://t.example.com/auth/c"),
            (Additive, MethodScopes, "t.things.get"),
        ]
    );
    assert!(detail(&report, ScopeRemoved, "https://t.example.com/auth/b").contains("`scopes::B` removed"));
    assert!(detail(&report, MethodScopes, "t.things.list").contains("no longer accepts `https://t.example.com/auth/b`"));
}

#[test]
fn a_new_base_url_is_breaking() {
    let report = fixture("base_url");
    assert_eq!(classified(&report), [(Breaking, BaseUrl, "base URL")]);
    assert!(
        detail(&report, BaseUrl, "base URL").contains("`https://t.example.com/` -> `https://t.googleapis.com/t/v1/`")
    );
}

#[test]
fn rust_only_renames_are_caught() {
    // Both `order` enums shared one type, named after their common prefix; a value added
    // to one splits them, and `B.order` changes Rust type with no change to its JSON. The
    // variants lose the prefix only in a type named after it, so they are renamed too.
    let report = fixture("rust_only");
    assert_eq!(
        classified(&report),
        [
            (Breaking, FieldRetyped, "A.order"),
            (Breaking, FieldRetyped, "B.order"),
            (Breaking, EnumChanged, "A.order"),
            (Breaking, EnumChanged, "A.order"),
            (Breaking, EnumChanged, "B.order"),
            (Breaking, EnumChanged, "B.order"),
            (Additive, EnumValueAdded, "A.order"),
        ]
    );
    assert_eq!(detail(&report, FieldRetyped, "B.order"), "Rust `B::order`: `Option<SortOrder>` -> `Option<BOrder>`");
    let renames: Vec<&str> = report
        .changes
        .iter()
        .filter(|c| c.kind == EnumChanged && c.subject == "B.order")
        .map(|c| c.detail.as_str())
        .collect();
    assert_eq!(
        renames,
        [
            "Rust variant for `SORT_ORDER_ASC` renamed `Asc` -> `SortOrderAsc`",
            "Rust variant for `SORT_ORDER_DESC` renamed `Desc` -> `SortOrderDesc`"
        ]
    );
}

#[test]
fn attributes_the_generated_code_does_not_use_are_still_listed() {
    let report = fixture("other_attributes");
    assert_eq!(
        classified(&report),
        [
            (Additive, Other, "Thing.count"),
            (Additive, Other, "t.things.get"),
            (Additive, Other, "t.things.get(pageSize)"),
        ]
    );
    assert!(detail(&report, Other, "t.things.get").contains("`flatPath`"));
    assert!(detail(&report, Other, "Thing.count").contains("`default` `1` -> `2`"));
}

#[test]
fn descriptions_and_spelled_out_defaults_are_not_changes() {
    let report = fixture("unchanged");
    assert!(report.is_empty(), "{:#?}", report.changes);
    assert_eq!(report.recommended_bump("0.1.0"), Bump::None);
    assert_eq!(report.recommended_bump("1.0.0"), Bump::None);
    assert_eq!(
        report.render_markdown(),
        "## t v1: revision 1 -> 2\n\nNo changes to methods, parameters, schemas, scopes or the base URL; \
         recommended bump: **none**.\n"
    );
}

#[test]
fn bumps_follow_semver_and_say_so_for_0_x() {
    let breaking = fixture("fields");
    assert_eq!(breaking.recommended_bump("0.1.0"), Bump::Minor);
    assert_eq!(breaking.recommended_bump("1.4.2"), Bump::Major);
    assert_eq!(breaking.recommended_bump("not a version"), Bump::Major);
    let additive = fixture("methods").changes.into_iter().filter(|c| c.impact == Additive).collect::<Vec<_>>();
    let additive = ChangeReport { changes: additive, ..fixture("methods") };
    assert_eq!(additive.recommended_bump("0.1.0"), Bump::Patch);
    assert_eq!(additive.recommended_bump("1.4.2"), Bump::Minor);

    assert_eq!(Bump::Minor.apply("0.1.3").as_deref(), Some("0.2.0"));
    assert_eq!(Bump::Patch.apply("0.1.3").as_deref(), Some("0.1.4"));
    assert_eq!(Bump::Major.apply("1.4.2").as_deref(), Some("2.0.0"));
    assert_eq!(Bump::Minor.apply("1.4").as_deref(), Some("1.5.0"));
    assert_eq!(Bump::Patch.apply("1.0.0-rc.1+build").as_deref(), Some("1.0.1"));
    assert_eq!(Bump::Major.apply("one"), None);

    let summary = |report: ChangeReport| report.render_markdown().lines().nth(2).unwrap().to_owned();
    assert!(
        summary(breaking.clone().with_crate_version("0.1.0"))
            .ends_with("recommended bump: **minor** (0.1.0 -> 0.2.0: breaking changes in a 0.x crate)."),
        "{}",
        summary(breaking.clone().with_crate_version("0.1.0"))
    );
    assert!(summary(additive.clone().with_crate_version("0.1.0"))
        .contains("**patch** (0.1.0 -> 0.1.1: additive changes only, 0.x crate)"));
    assert!(summary(breaking).contains("**major** (**minor** for a 0.x crate)"));
}

#[test]
fn versions_that_carry_the_revision_follow_it() {
    let next = |report: ChangeReport, version: &str| report.with_crate_version(version).next_crate_version();
    let breaking = fixture("fields");
    let additive = fixture("methods").changes.into_iter().filter(|c| c.impact == Additive).collect::<Vec<_>>();
    let additive = ChangeReport { changes: additive, ..fixture("methods") };
    assert_eq!(next(breaking.clone(), "0.3.1+1").as_deref(), Some("0.4.0+2"));
    assert_eq!(next(breaking.clone(), "1.3.1+1").as_deref(), Some("2.0.0+2"));
    assert_eq!(next(additive.clone(), "0.3.1+1").as_deref(), Some("0.3.2+2"));
    assert_eq!(next(additive.clone(), "1.3.1+1").as_deref(), Some("1.4.0+2"));
    // A new revision is a new version even without API changes: only the build metadata
    // would differ, and Cargo and crates.io ignore it.
    assert_eq!(next(fixture("unchanged"), "0.3.1+1").as_deref(), Some("0.3.2+2"));
    let same_revision = ChangeReport { new_revision: "1".into(), ..fixture("unchanged") };
    assert_eq!(next(same_revision, "0.3.1+1").as_deref(), Some("0.3.1+1"));
    // Versions without the revision are left to the maintainer.
    assert_eq!(next(breaking.clone(), "0.3.1"), None);
    assert_eq!(breaking.next_crate_version(), None);

    let summary = |report: ChangeReport| report.render_markdown().lines().nth(2).unwrap().to_owned();
    assert!(summary(breaking.clone().with_crate_version("0.3.1+1"))
        .ends_with("recommended bump: **minor** (0.3.1+1 -> 0.4.0+2: breaking changes in a 0.x crate)."));
    assert!(summary(fixture("unchanged").with_crate_version("0.3.1+1"))
        .ends_with("recommended bump: **patch** (0.3.1+1 -> 0.3.2+2: a new revision, no API changes)."));

    // The section records the version, and the change log gives it back by revision.
    let first = prepend_section("", &breaking.clone().with_crate_version("0.3.1+1"));
    assert!(first.contains("\n\nCrate version: `0.4.0+2`.\n"), "{first}");
    let newer = ChangeReport { old_revision: "2".into(), new_revision: "3".into(), ..fixture("scopes") };
    let both = prepend_section(&first, &newer);
    assert_eq!(recorded_version(&both, "2").as_deref(), Some("0.4.0+2"));
    assert_eq!(recorded_version(&both, "3"), None, "that section records no version");
    assert_eq!(recorded_version(&both, "1"), None);
    assert_eq!(recorded_version(&prepend_section("", &breaking), "2"), None, "no crate version, no line");

    // People: the pinned revision is additive over 20210302, going back is breaking.
    let forward = compare(PEOPLE_OLD, PEOPLE_NEW).unwrap().with_crate_version("0.1.0+20210302");
    assert_eq!(forward.next_crate_version().as_deref(), Some("0.1.1+20251117"));
    let back = compare(PEOPLE_NEW, PEOPLE_OLD).unwrap().with_crate_version("0.1.1+20251117");
    assert_eq!(back.next_crate_version().as_deref(), Some("0.2.0+20210302"));
}

#[test]
fn sections_are_prepended_newest_first_and_only_once() {
    let older = fixture("methods");
    let newer = ChangeReport { old_revision: "2".into(), new_revision: "3".into(), ..fixture("scopes") };

    let first = prepend_section("", &older);
    assert!(first.starts_with(CHANGELOG_TITLE), "{first}");
    assert!(first.contains("## t v1: revision 1 -> 2\n"));
    assert_eq!(prepend_section(&first, &older), first, "the same revision pair is not added twice");

    let second = prepend_section(&first, &newer);
    assert!(second.starts_with(CHANGELOG_TITLE));
    let (new_at, old_at) = (second.find("revision 2 -> 3").unwrap(), second.find("revision 1 -> 2").unwrap());
    assert!(new_at < old_at, "newest on top:\n{second}");
    assert_eq!(prepend_section(&second, &newer), second);
    assert_eq!(second.matches("\n## ").count(), 2);
    assert!(second.contains("\n\n## t v1: revision 1 -> 2"), "sections are separated by a blank line:\n{second}");

    // A hand-written title and introduction stay on top; no sections yet: append after them.
    let custom = prepend_section("# People changes\n\nKept by hand.\n", &older);
    assert!(custom.starts_with("# People changes\n\nKept by hand.\n\n## t v1: revision 1 -> 2\n"), "{custom}");

    // Regenerating from the committed document compares a revision with itself.
    let same = ChangeReport { old_revision: "2".into(), new_revision: "2".into(), changes: Vec::new(), ..older };
    assert_eq!(prepend_section(&second, &same), second);
}

#[test]
fn errors_say_which_document() {
    let err = compare("not json", PEOPLE_NEW).unwrap_err().to_string();
    assert!(err.contains("old document"), "{err}");
    let dangling =
        r#"{"name":"t","version":"v1","schemas":{"A":{"type":"object","properties":{"b":{"$ref":"Nope"}}}}}"#;
    let err = compare(PEOPLE_OLD, dangling).unwrap_err().to_string();
    assert!(err.contains("new document") && err.contains("schemas.A.properties.b.$ref"), "{err}");
}

#[test]
fn people_report_snapshot() {
    let report = compare(PEOPLE_OLD, PEOPLE_NEW).unwrap().with_crate_version("0.1.0");
    assert_eq!((report.old_revision.as_str(), report.new_revision.as_str()), ("20210302", "20251117"));
    let counts = report.counts();
    assert_eq!((counts.breaking, counts.additive, counts.deprecated), (0, 26, 21));
    assert_eq!(report.recommended_bump("0.1.0"), Bump::Patch);
    assert_eq!(report.recommended_bump("1.0.0"), Bump::Minor);
    assert!(report.changes.is_sorted(), "changes come sorted");
    assert_eq!(report, compare(PEOPLE_OLD, PEOPLE_NEW).unwrap().with_crate_version("0.1.0"), "deterministic");
    insta::assert_snapshot!("people_markdown", report.render_markdown());
    insta::assert_snapshot!("people_text", report.render_text());
}

// ---------------------------------------------------------------------------------------
// The independent check: walks the raw JSON, knows nothing of the module's model.

/// An item the report must mention: a list line for `subject` (in a Breaking, Additive or
/// Deprecated section) that contains `value` when given.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expected {
    subject: String,
    value: Option<String>,
}

fn expect(out: &mut BTreeSet<Expected>, subject: &str, value: Option<&str>) {
    out.insert(Expected { subject: subject.to_owned(), value: value.map(str::to_owned) });
}

/// What of an item is not prose and not compared member by member; defaults (`false`, `[]`,
/// `{}`) as if absent. Enum values are compared on their own.
fn own(value: &Value) -> Value {
    const SKIP: &[&str] = &["description", "enumDescriptions", "properties", "parameters", "enum", "enumDeprecated"];
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| !SKIP.contains(&key.as_str()))
                .map(|(key, inner)| (key.clone(), own(inner)))
                .filter(|(_, inner)| !matches!(inner, Value::Null | Value::Bool(false)))
                .filter(|(_, inner)| !inner.as_array().is_some_and(Vec::is_empty))
                .filter(|(_, inner)| !inner.as_object().is_some_and(|m| m.is_empty()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Under arrays and maps: the node that holds the enum values, or the properties.
fn descend<'v>(mut node: &'v Value, stop: &str) -> Option<&'v Value> {
    loop {
        if node.get("$ref").is_some() {
            return None;
        }
        if node.get(stop).is_some() {
            return Some(node);
        }
        node = node.get("items").or_else(|| node.get("additionalProperties").filter(|v| v.is_object()))?;
    }
}

/// Enum value to whether it is deprecated.
fn enum_values(node: &Value) -> BTreeMap<String, bool> {
    let Some(node) = descend(node, "enum") else { return BTreeMap::new() };
    let deprecated = node.get("enumDeprecated").and_then(Value::as_array);
    let values = node["enum"].as_array().expect("enum is a list");
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let flag = deprecated.and_then(|d| d.get(i)).and_then(Value::as_bool).unwrap_or(false);
            (v.as_str().expect("enum values are strings").to_owned(), flag)
        })
        .collect()
}

fn compare_item(out: &mut BTreeSet<Expected>, subject: &str, old: &Value, new: &Value) {
    if own(old) != own(new) {
        expect(out, subject, None);
    }
    let (old_values, new_values) = (enum_values(old), enum_values(new));
    if old_values.is_empty() != new_values.is_empty() {
        expect(out, subject, None);
    } else {
        for (value, deprecated) in &old_values {
            match new_values.get(value) {
                None => expect(out, subject, Some(value)),
                Some(now) if now != deprecated => expect(out, subject, Some(value)),
                Some(_) => {}
            }
        }
        for value in new_values.keys().filter(|v| !old_values.contains_key(*v)) {
            expect(out, subject, Some(value));
        }
    }
}

fn compare_members(out: &mut BTreeSet<Expected>, path: &str, old: &Value, new: &Value) {
    let members = |node| descend(node, "properties").and_then(|n| n["properties"].as_object());
    let (Some(old_members), Some(new_members)) = (members(old), members(new)) else { return };
    let names: BTreeSet<&String> = old_members.keys().chain(new_members.keys()).collect();
    for name in names {
        let subject = format!("{path}.{name}");
        match (old_members.get(name), new_members.get(name)) {
            (Some(o), Some(n)) => {
                compare_item(out, &subject, o, n);
                compare_members(out, &subject, o, n);
            }
            _ => expect(out, &subject, None),
        }
    }
}

fn methods_by_id(resource: &Value, out: &mut BTreeMap<String, Value>) {
    if let Some(methods) = resource.get("methods").and_then(Value::as_object) {
        for method in methods.values() {
            out.insert(method["id"].as_str().expect("methods have ids").to_owned(), method.clone());
        }
    }
    if let Some(resources) = resource.get("resources").and_then(Value::as_object) {
        resources.values().for_each(|child| methods_by_id(child, out));
    }
}

fn differences(old: &Value, new: &Value) -> BTreeSet<Expected> {
    let mut out = BTreeSet::new();
    let empty = serde_json::Map::new();
    let object = |v: &Value, key: &str| v.get(key).and_then(Value::as_object).cloned().unwrap_or_else(|| empty.clone());

    let (old_schemas, new_schemas) = (object(old, "schemas"), object(new, "schemas"));
    for name in old_schemas.keys().chain(new_schemas.keys()).collect::<BTreeSet<_>>() {
        match (old_schemas.get(name), new_schemas.get(name)) {
            (Some(o), Some(n)) => {
                compare_item(&mut out, name, o, n);
                compare_members(&mut out, name, o, n);
            }
            _ => expect(&mut out, name, None),
        }
    }

    let (mut old_methods, mut new_methods) = (BTreeMap::new(), BTreeMap::new());
    methods_by_id(old, &mut old_methods);
    methods_by_id(new, &mut new_methods);
    for id in old_methods.keys().chain(new_methods.keys()).collect::<BTreeSet<_>>() {
        let (Some(o), Some(n)) = (old_methods.get(id), new_methods.get(id)) else {
            expect(&mut out, id, None);
            continue;
        };
        compare_item(&mut out, id, o, n);
        let (old_params, new_params) = (object(o, "parameters"), object(n, "parameters"));
        for name in old_params.keys().chain(new_params.keys()).collect::<BTreeSet<_>>() {
            let subject = format!("{id}({name})");
            match (old_params.get(name), new_params.get(name)) {
                (Some(op), Some(np)) => compare_item(&mut out, &subject, op, np),
                _ => expect(&mut out, &subject, None),
            }
        }
    }

    let scopes =
        |doc: &Value| doc.pointer("/auth/oauth2/scopes").and_then(Value::as_object).cloned().unwrap_or_default();
    let (old_scopes, new_scopes) = (scopes(old), scopes(new));
    for url in old_scopes.keys().chain(new_scopes.keys()) {
        if old_scopes.contains_key(url) != new_scopes.contains_key(url) {
            expect(&mut out, url, None);
        }
    }
    let base =
        |doc: &Value| format!("{}{}", doc["rootUrl"].as_str().unwrap_or(""), doc["servicePath"].as_str().unwrap_or(""));
    if base(old) != base(new) {
        expect(&mut out, "base URL", None);
    }
    out
}

/// The list lines of a rendered report: (section, subject, whole line).
fn report_lines(markdown: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut lines = Vec::new();
    for line in markdown.lines() {
        if let Some(title) = line.strip_prefix("### ") {
            section = title.to_owned();
        } else if let Some(rest) = line.strip_prefix("- `") {
            let subject = rest.split_once("`: ").expect("list lines are \"- `subject`: detail\"").0;
            lines.push((section.clone(), subject.to_owned(), line.to_owned()));
        }
    }
    lines
}

#[test]
fn people_report_lists_every_difference_of_the_raw_documents() {
    let (old, new): (Value, Value) =
        (serde_json::from_str(PEOPLE_OLD).unwrap(), serde_json::from_str(PEOPLE_NEW).unwrap());
    let expected = differences(&old, &new);
    // 3 methods, 6 schemas, 4 new fields, 2 new parameters, 8 enum value lists, 5 enum
    // value deprecations, 14 deprecated schemas and fields, scopes of 2 methods, ...
    assert!(expected.len() >= 40, "the walk finds the known differences: {expected:#?}");

    let markdown = compare(PEOPLE_OLD, PEOPLE_NEW).unwrap().with_crate_version("0.1.0").render_markdown();
    let lines = report_lines(&markdown);
    let mut missing = Vec::new();
    for item in &expected {
        let found = lines.iter().find(|(_, subject, line)| {
            *subject == item.subject && item.value.as_ref().is_none_or(|v| line.contains(&format!("`{v}`")))
        });
        match found {
            Some((section, _, line)) => {
                assert!(["Breaking", "Additive", "Deprecated"].contains(&section.as_str()), "unclassified: {line}")
            }
            None => missing.push(item),
        }
    }
    assert!(missing.is_empty(), "not in the report: {missing:#?}\n\n{markdown}");

    // And the other way round: nothing is reported that the raw documents do not show
    // (People has no change that only the Rust side sees).
    let subjects: BTreeSet<&str> = expected.iter().map(|e| e.subject.as_str()).collect();
    let extra: Vec<&String> = lines
        .iter()
        .map(|(_, _, line)| line)
        .filter(|line| {
            let subject = line.trim_start_matches("- `").split_once("`: ").unwrap().0;
            !subjects.contains(subject)
        })
        .collect();
    assert!(extra.is_empty(), "reported without a raw difference: {extra:#?}");
    assert!(markdown.lines().nth(2).unwrap().contains("recommended bump: **patch**"), "{markdown}");
}
