//! Server-side SVG drawing of a catalog entity's relation graph.
//!
//! Each entity page in the portal shows how that entity relates to its
//! neighbours: owners, systems, provided and consumed APIs, dependencies.
//! Rendering happens on the server so the page works without JavaScript and
//! stays cacheable: [`render`] turns a [`Graph`] into one self-contained SVG
//! string with no scripts and no external references.
//!
//! The layout is a layered (Sugiyama-style) drawing that flows left to right,
//! because entity labels are wide and short columns keep them readable:
//!
//! 1. cycles are broken by reversing the back edges of a depth-first search,
//!    so mutual relations (`ownerOf`/`ownedBy`, cyclic dependencies) still
//!    get a direction to layer by; reversed edges are still drawn with their
//!    arrow pointing the way the relation goes;
//! 2. layers come from longest paths, with sources pulled next to their
//!    nearest successor so they do not stretch edges across the picture;
//! 3. edges spanning several layers get invisible waypoints ("dummies"), and
//!    alternating barycenter sweeps reorder each layer, keeping the order
//!    with the fewest crossings;
//! 4. vertical positions are fitted per layer as close as possible to the
//!    neighbours' average while keeping order and spacing (isotonic
//!    regression), which guarantees that boxes never overlap.
//!
//! Everything is pure and deterministic (ordered maps only, no hashing of
//! pointers), so the same input always yields the same bytes.

use std::collections::{BTreeMap, BTreeSet};

/// One catalog entity to draw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// Entity ref such as `component:default/web`; edges refer to it.
    pub id: String,
    /// Human-readable name shown in the box.
    pub label: String,
    /// Lower-case entity kind (`component`, `api`, ...); picks the colours.
    pub kind: String,
    /// Link to the entity's page; only relative, `http(s):` and `mailto:`
    /// links are emitted, anything else renders the node without a link.
    pub href: Option<String>,
    /// Marks the entity whose page shows this graph.
    pub focus: bool,
}

/// A directed relation between two entities, by their ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// Relation type such as `dependsOn`, shown next to the arrow.
    pub label: String,
}

/// The entities and relations to draw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// Horizontal advance of an average Latin character at the 12px label size;
/// slightly generous so labels never spill out of their boxes.
const LABEL_CHAR_WIDTH: f64 = 7.0;
/// Same for the 10px kind line and relation labels.
const SMALL_CHAR_WIDTH: f64 = 6.0;
/// East Asian wide characters and emoji take roughly a full em.
const WIDE_CHAR_FACTOR: f64 = 1.75;
/// Longer labels are cut with an ellipsis; the full text stays in `<title>`.
const MAX_LABEL_CHARS: usize = 28;
const NODE_PADDING: f64 = 12.0;
const MIN_NODE_WIDTH: f64 = 96.0;
const NODE_HEIGHT: f64 = 46.0;
const KIND_BASELINE: f64 = 18.0;
const LABEL_BASELINE: f64 = 35.0;
/// Dummies are thin so long edges squeeze between boxes.
const DUMMY_HEIGHT: f64 = 12.0;
/// A column holding only dummies still needs a little room for the curve.
const DUMMY_WIDTH: f64 = 24.0;
/// Wide enough for a relation label such as `dependencyOf` between columns.
const LAYER_GAP: f64 = 120.0;
const NODE_GAP: f64 = 20.0;
const DUMMY_GAP: f64 = 8.0;
const MARGIN: f64 = 24.0;
/// Vertical distance between edges sharing a box side.
const PORT_SPACING: f64 = 8.0;
/// Keeps ports away from the rounded corners.
const PORT_INSET: f64 = 10.0;
/// Vertical distance between edges sharing the same dummy waypoints.
const LANE_SPACING: f64 = 6.0;
/// Relation labels sit this far above (or below) their edge.
const EDGE_LABEL_LIFT: f64 = 4.0;
const EDGE_LABEL_DROP: f64 = 12.0;
const SMALL_FONT_SIZE: f64 = 10.0;
/// Fractions along a gap segment where a relation label may sit.
const LABEL_POSITIONS: [f64; 5] = [0.5, 0.35, 0.65, 0.2, 0.8];
/// Above these sizes labels are not moved out of each other's way.
const MAX_AVOIDED_LABELS: usize = 400;
const MAX_AVOIDED_BOXES: usize = 1000;
const ORDER_SWEEPS: usize = 12;
const POSITION_PASSES: usize = 8;
/// Above this many waypoints (huge, deep graphs) long edges are drawn as
/// plain curves instead, keeping the work bounded.
const MAX_DUMMIES: usize = 20_000;
const EMPTY_WIDTH: f64 = 240.0;
const EMPTY_HEIGHT: f64 = 64.0;

/// Colours per entity kind. `ink` is the kind caption colour; every pair is
/// checked for WCAG AA contrast in the tests.
struct Palette {
    kind: &'static str,
    fill: &'static str,
    stroke: &'static str,
    ink: &'static str,
}

const PALETTES: [Palette; 9] = [
    Palette {
        kind: "component",
        fill: "#ddf4ff",
        stroke: "#0969da",
        ink: "#0550ae",
    },
    Palette {
        kind: "api",
        fill: "#dafbe1",
        stroke: "#1a7f37",
        ink: "#116329",
    },
    Palette {
        kind: "resource",
        fill: "#fff1e5",
        stroke: "#bc4c00",
        ink: "#953800",
    },
    Palette {
        kind: "system",
        fill: "#fbefff",
        stroke: "#8250df",
        ink: "#6639ba",
    },
    Palette {
        kind: "domain",
        fill: "#ffeff7",
        stroke: "#bf3989",
        ink: "#99286e",
    },
    Palette {
        kind: "group",
        fill: "#e0f6f4",
        stroke: "#1b7c83",
        ink: "#0f5a60",
    },
    Palette {
        kind: "user",
        fill: "#f6f8fa",
        stroke: "#6e7781",
        ink: "#424a53",
    },
    Palette {
        kind: "template",
        fill: "#fff8c5",
        stroke: "#9a6700",
        ink: "#7d4e00",
    },
    Palette {
        kind: "location",
        fill: "#eef1f4",
        stroke: "#57606a",
        ink: "#32383f",
    },
];

const BACKGROUND: &str = "#ffffff";
const TEXT_COLOR: &str = "#1f2328";
const DEFAULT_STROKE: &str = "#6e7781";
const MUTED_TEXT: &str = "#424a53";
const EDGE_COLOR: &str = "#57606a";
const FOCUS_RING: &str = "#0b57d0";

/// Lays out `graph` and draws it as a standalone, accessible SVG document.
///
/// Edges whose endpoints are not among the nodes, self-loops and duplicates
/// are left out; several relation types between the same two entities share
/// one arrow. Never panics, whatever the input.
pub fn render(graph: &Graph, title: &str) -> String {
    let model = Model::new(graph);
    let id = document_id(&model, title);
    if model.entities.is_empty() {
        return render_empty(&id, title);
    }
    let layout = layout(&model);
    render_layout(&model, &layout, &id, title)
}

// ---------------------------------------------------------------------------
// Input cleanup
// ---------------------------------------------------------------------------

/// An entity ready to draw: text already cleaned and clamped.
struct Entity<'a> {
    id: &'a str,
    label: String,
    kind: String,
    kind_class: String,
    tooltip: String,
    href: Option<&'a str>,
    focus: bool,
    width: f64,
}

/// One drawn arrow: all relation types from one entity to another.
struct Relation {
    from: usize,
    to: usize,
    /// Relation types, clamped for display.
    label: String,
    /// Relation types, unclamped, for the hover title.
    full_label: String,
    /// How many distinct relation types the arrow stands for.
    types: usize,
}

struct Model<'a> {
    entities: Vec<Entity<'a>>,
    relations: Vec<Relation>,
}

impl<'a> Model<'a> {
    fn new(graph: &'a Graph) -> Self {
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        let mut entities = Vec::new();
        for node in &graph.nodes {
            // The first node wins so a repeated id cannot produce two boxes
            // that edges would have to choose between.
            if !index.contains_key(node.id.as_str()) {
                index.insert(node.id.as_str(), entities.len());
                entities.push(Entity::new(node));
            }
        }
        let mut grouped: BTreeMap<(usize, usize), BTreeSet<&str>> = BTreeMap::new();
        for edge in &graph.edges {
            let from = index.get(edge.from.as_str());
            let to = index.get(edge.to.as_str());
            if let (Some(&from), Some(&to)) = (from, to)
                && from != to
            {
                grouped
                    .entry((from, to))
                    .or_default()
                    .insert(edge.label.as_str());
            }
        }
        let relations = grouped
            .into_iter()
            .map(|((from, to), labels)| Relation::new(from, to, &labels))
            .collect();
        Model {
            entities,
            relations,
        }
    }

    fn relation_types(&self) -> usize {
        self.relations.iter().map(|relation| relation.types).sum()
    }
}

impl<'a> Entity<'a> {
    fn new(node: &'a Node) -> Self {
        let named = clean_text(&node.label);
        let full_label = if named.is_empty() {
            fallback_label(&node.id)
        } else {
            named
        };
        let (label, shortened) = clamp(&full_label);
        let kind_source = if node.kind.trim().is_empty() {
            kind_from_ref(&node.id)
        } else {
            node.kind.as_str()
        };
        let (kind, _) = clamp(&clean_text(kind_source));
        let reference = clean_text(&node.id);
        let tooltip = if shortened {
            format!("{full_label} ({reference})")
        } else {
            reference
        };
        let text_width =
            text_width(&label, LABEL_CHAR_WIDTH).max(text_width(&kind, SMALL_CHAR_WIDTH));
        Entity {
            id: node.id.as_str(),
            kind_class: kind_class(&kind),
            label,
            kind,
            tooltip,
            href: node.href.as_deref().and_then(safe_href),
            focus: node.focus,
            width: (text_width + 2.0 * NODE_PADDING).max(MIN_NODE_WIDTH),
        }
    }
}

impl Relation {
    fn new(from: usize, to: usize, labels: &BTreeSet<&str>) -> Self {
        // Cleaning can make two raw labels equal (" dependsOn" and
        // "dependsOn"); count and show them once.
        let cleaned: BTreeSet<String> = labels.iter().map(|label| clean_text(label)).collect();
        let names: Vec<&str> = cleaned
            .iter()
            .map(String::as_str)
            .filter(|label| !label.is_empty())
            .collect();
        let full_label = names.join(", ");
        Relation {
            from,
            to,
            label: clamp(&full_label).0,
            full_label,
            types: cleaned.len(),
        }
    }
}

/// The name part of a ref (`component:default/web` → `web`), so unlabeled
/// nodes still say something meaningful.
fn fallback_label(reference: &str) -> String {
    let name = reference
        .rsplit(['/', ':'])
        .next()
        .map(clean_text)
        .unwrap_or_default();
    if name.is_empty() {
        "(unnamed)".to_string()
    } else {
        name
    }
}

fn kind_from_ref(reference: &str) -> &str {
    match reference.split_once(':') {
        Some((kind, _)) if !kind.trim().is_empty() => kind,
        _ => "entity",
    }
}

/// A CSS-safe class suffix; arbitrary kinds must not break the attribute
/// or inject selectors.
fn kind_class(kind: &str) -> String {
    let class: String = kind
        .chars()
        .filter(|letter| letter.is_ascii_alphanumeric() || *letter == '-')
        .map(|letter| letter.to_ascii_lowercase())
        .take(32)
        .collect();
    if class.is_empty() {
        "other".to_string()
    } else {
        class
    }
}

/// Accepts relative links and a few harmless schemes; `javascript:` and
/// friends would turn a catalog label into script on the portal's origin.
fn safe_href(href: &str) -> Option<&str> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    // Browsers drop tabs and newlines inside URLs, so `java\tscript:` is still
    // a script URL; treating anything before the first ':' as the scheme, as
    // long as no '/', '?' or '#' comes first, catches such spellings too.
    let Some(end) = href.find([':', '/', '?', '#']) else {
        return Some(href);
    };
    if href.as_bytes().get(end) != Some(&b':') {
        return Some(href);
    }
    let scheme = href.get(..end).unwrap_or_default();
    let allowed = ["http", "https", "mailto"]
        .iter()
        .any(|known| scheme.eq_ignore_ascii_case(known));
    allowed.then_some(href)
}

/// Single-line display text: whitespace runs collapse to one space and
/// characters XML cannot carry are dropped.
fn clean_text(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|letter| is_xml_char(*letter))
        .collect()
}

/// Cuts text to [`MAX_LABEL_CHARS`] characters, ending in an ellipsis when
/// shortened; the flag says whether it was.
fn clamp(text: &str) -> (String, bool) {
    if text.chars().count() <= MAX_LABEL_CHARS {
        return (text.to_string(), false);
    }
    let mut short: String = text.chars().take(MAX_LABEL_CHARS - 1).collect();
    short.push('…');
    (short, true)
}

fn text_width(text: &str, char_width: f64) -> f64 {
    text.chars()
        .map(|letter| {
            if is_wide(letter) {
                char_width * WIDE_CHAR_FACTOR
            } else {
                char_width
            }
        })
        .sum()
}

/// Rough East Asian Wide / emoji test; a full Unicode width table is not
/// worth its size for a width estimate.
fn is_wide(c: char) -> bool {
    matches!(
        u32::from(c),
        0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1FAFF
            | 0x20000..=0x3FFFD
    )
}

/// Characters allowed in XML 1.0 text (C1 controls excluded as well, since
/// they are invisible at best).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
        || (c >= ' ' && !('\u{7f}'..='\u{9f}').contains(&c) && c != '\u{fffe}' && c != '\u{ffff}')
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c if is_xml_char(c) => escaped.push(c),
            // Not even a character reference may carry these in XML 1.0.
            _ => {}
        }
    }
    escaped
}

/// A stable id prefix so several graphs on one page do not share marker and
/// title ids, while identical input still gives identical output.
fn document_id(model: &Model, title: &str) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    let mut feed = |bytes: &[u8]| {
        for &byte in bytes.iter().chain([0xff].iter()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(PRIME);
        }
    };
    feed(title.as_bytes());
    for entity in &model.entities {
        feed(entity.id.as_bytes());
        feed(entity.label.as_bytes());
    }
    for relation in &model.relations {
        feed(format!("{}>{}:{}", relation.from, relation.to, relation.full_label).as_bytes());
    }
    format!("pave-graph-{hash:016x}")
}

// ---------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Point {
    x: f64,
    y: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Rect {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
}

/// The drawn shape of one relation.
#[derive(Debug, Clone, Default)]
struct Route {
    /// Polyline through column edges and waypoints; consecutive points at
    /// the same height are joined straight, others by a horizontal S-curve.
    points: Vec<Point>,
    /// Start indices of the segments crossing a gap between columns, the
    /// only places a label can sit without covering a box.
    gaps: Vec<usize>,
    /// Baseline centre of the relation label.
    label_at: Point,
}

/// Final geometry: one box per entity and one route per relation, both in
/// model order.
struct Layout {
    boxes: Vec<Rect>,
    routes: Vec<Route>,
    width: f64,
    height: f64,
}

/// The layered graph: real entities first (same indices as the model), then
/// dummies. Neighbour lists only hold edges between adjacent layers.
struct Layered {
    /// Vertices below this index are entities, the rest dummies.
    entity_count: usize,
    layer: Vec<usize>,
    width: Vec<f64>,
    height: Vec<f64>,
    predecessors: Vec<Vec<usize>>,
    successors: Vec<Vec<usize>>,
    /// Vertices each acyclic edge passes through, from its tail to its head.
    chains: BTreeMap<(usize, usize), Vec<usize>>,
}

impl Layered {
    fn vertex_count(&self) -> usize {
        self.layer.len()
    }

    fn is_dummy(&self, vertex: usize) -> bool {
        vertex >= self.entity_count
    }
}

/// Which side of a box (or column) an edge leaves or enters by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Left,
    Right,
}

fn layout(model: &Model) -> Layout {
    let count = model.entities.len();
    let pairs: Vec<(usize, usize)> = model
        .relations
        .iter()
        .map(|relation| (relation.from, relation.to))
        .collect();
    let reversed = back_edges(count, &pairs);
    let acyclic: BTreeSet<(usize, usize)> =
        pairs.iter().map(|&pair| orient(pair, &reversed)).collect();
    let acyclic: Vec<(usize, usize)> = acyclic.into_iter().collect();
    let layers = assign_layers(count, &acyclic);
    let layered = insert_dummies(model, layers, &acyclic);
    let order = order_layers(&layered);
    let centers = vertical_centers(&order, &layered);
    let columns = Columns::new(&layered, order.len());
    let boxes: Vec<Rect> = model
        .entities
        .iter()
        .enumerate()
        .map(|(vertex, entity)| {
            let center = centers.get(vertex).copied().unwrap_or_default();
            let column = layered.layer.get(vertex).copied().unwrap_or_default();
            Rect {
                x: columns.center(column) - entity.width / 2.0,
                y: center - NODE_HEIGHT / 2.0,
                width: entity.width,
                height: NODE_HEIGHT,
            }
        })
        .collect();
    let geometry = Geometry {
        layered: &layered,
        centers: &centers,
        columns: &columns,
        boxes: &boxes,
    };
    let routes = route_relations(model, &reversed, &geometry);
    fit_to_margin(boxes, routes, model)
}

/// The acyclic direction of a relation.
fn orient(pair: (usize, usize), reversed: &BTreeSet<(usize, usize)>) -> (usize, usize) {
    if reversed.contains(&pair) {
        (pair.1, pair.0)
    } else {
        pair
    }
}

/// Sorted, deduplicated neighbour lists so traversal order never depends on
/// input order quirks.
fn adjacency(count: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut neighbours = vec![Vec::new(); count];
    for &(from, to) in edges {
        if let Some(list) = neighbours.get_mut(from) {
            list.push(to);
        }
    }
    for list in &mut neighbours {
        list.sort_unstable();
        list.dedup();
    }
    neighbours
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visit {
    New,
    Active,
    Done,
}

/// The back edges of an iterative depth-first search; reversing them leaves
/// a DAG. Sources are searched first so natural flows keep their direction
/// and only the edge closing each loop flips.
fn back_edges(count: usize, edges: &[(usize, usize)]) -> BTreeSet<(usize, usize)> {
    let successors = adjacency(count, edges);
    let mut has_predecessor = vec![false; count];
    for &(_, to) in edges {
        if let Some(flag) = has_predecessor.get_mut(to) {
            *flag = true;
        }
    }
    let sources = (0..count).filter(|&vertex| !has_predecessor[vertex]);
    let others = (0..count).filter(|&vertex| has_predecessor[vertex]);
    let mut state = vec![Visit::New; count];
    let mut back = BTreeSet::new();
    for root in sources.chain(others) {
        if state[root] != Visit::New {
            continue;
        }
        state[root] = Visit::Active;
        // An explicit stack: recursion depth would follow path length, and
        // a long chain of entities must not overflow the thread stack.
        let mut stack = vec![(root, 0_usize)];
        while let Some(&(vertex, next)) = stack.last() {
            let Some(&successor) = successors[vertex].get(next) else {
                state[vertex] = Visit::Done;
                stack.pop();
                continue;
            };
            if let Some(top) = stack.last_mut() {
                top.1 += 1;
            }
            match state[successor] {
                Visit::New => {
                    state[successor] = Visit::Active;
                    stack.push((successor, 0));
                }
                Visit::Active => {
                    back.insert((vertex, successor));
                }
                Visit::Done => {}
            }
        }
    }
    back
}

/// Longest-path layering on the DAG, then sources moved right next to their
/// nearest successor (an owner group should sit beside what it owns, not in
/// the first column).
fn assign_layers(count: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let successors = adjacency(count, edges);
    let flipped: Vec<(usize, usize)> = edges.iter().map(|&(from, to)| (to, from)).collect();
    let predecessors = adjacency(count, &flipped);
    let mut waiting: Vec<usize> = predecessors.iter().map(Vec::len).collect();
    let mut ready: Vec<usize> = (0..count)
        .rev()
        .filter(|&vertex| waiting[vertex] == 0)
        .collect();
    let mut layer = vec![0_usize; count];
    while let Some(vertex) = ready.pop() {
        for &successor in &successors[vertex] {
            layer[successor] = layer[successor].max(layer[vertex] + 1);
            waiting[successor] = waiting[successor].saturating_sub(1);
            if waiting[successor] == 0 {
                ready.push(successor);
            }
        }
    }
    for (vertex, incoming) in predecessors.iter().enumerate() {
        if !incoming.is_empty() {
            continue;
        }
        if let Some(nearest) = successors[vertex]
            .iter()
            .map(|&successor| layer[successor])
            .min()
        {
            layer[vertex] = nearest.saturating_sub(1);
        }
    }
    layer
}

/// Splits every edge longer than one layer with dummies so each layer pair
/// only has short edges, which crossing reduction and routing rely on.
fn insert_dummies(model: &Model, layer: Vec<usize>, edges: &[(usize, usize)]) -> Layered {
    let span = |from: usize, to: usize| {
        let from_layer = layer.get(from).copied().unwrap_or_default();
        let to_layer = layer.get(to).copied().unwrap_or_default();
        to_layer.saturating_sub(from_layer)
    };
    let needed: usize = edges
        .iter()
        .map(|&(from, to)| span(from, to).saturating_sub(1))
        .sum();
    let use_dummies = needed <= MAX_DUMMIES;
    let mut layered = Layered {
        entity_count: model.entities.len(),
        width: model.entities.iter().map(|entity| entity.width).collect(),
        height: vec![NODE_HEIGHT; model.entities.len()],
        predecessors: vec![Vec::new(); layer.len()],
        successors: vec![Vec::new(); layer.len()],
        chains: BTreeMap::new(),
        layer,
    };
    for &(from, to) in edges {
        let mut chain = vec![from];
        let first = layered.layer.get(from).copied().unwrap_or_default();
        let last = layered.layer.get(to).copied().unwrap_or_default();
        if use_dummies {
            for dummy_layer in first + 1..last {
                chain.push(add_dummy(&mut layered, dummy_layer));
            }
        }
        chain.push(to);
        for pair in chain.windows(2) {
            if let [tail, head] = *pair {
                link_if_adjacent(&mut layered, tail, head);
            }
        }
        layered.chains.insert((from, to), chain);
    }
    layered
}

fn add_dummy(layered: &mut Layered, layer: usize) -> usize {
    let vertex = layered.vertex_count();
    layered.layer.push(layer);
    layered.width.push(DUMMY_WIDTH);
    layered.height.push(DUMMY_HEIGHT);
    layered.predecessors.push(Vec::new());
    layered.successors.push(Vec::new());
    vertex
}

fn link_if_adjacent(layered: &mut Layered, tail: usize, head: usize) {
    let tail_layer = layered.layer.get(tail).copied().unwrap_or_default();
    let head_layer = layered.layer.get(head).copied().unwrap_or_default();
    if head_layer != tail_layer + 1 {
        return;
    }
    if let Some(list) = layered.successors.get_mut(tail) {
        list.push(head);
    }
    if let Some(list) = layered.predecessors.get_mut(head) {
        list.push(tail);
    }
}

/// Orders each layer with alternating barycenter sweeps and keeps the best
/// order seen, since a sweep can make things worse.
fn order_layers(layered: &Layered) -> Vec<Vec<usize>> {
    let layer_count = layered.layer.iter().max().map_or(0, |max| max + 1);
    let mut layers = vec![Vec::new(); layer_count];
    for (vertex, &layer) in layered.layer.iter().enumerate() {
        if let Some(members) = layers.get_mut(layer) {
            members.push(vertex);
        }
    }
    let mut best = layers.clone();
    let mut best_crossings = count_crossings(&layers, layered);
    for sweep in 0..ORDER_SWEEPS {
        if best_crossings == 0 {
            break;
        }
        sweep_layers(&mut layers, layered, sweep % 2 == 0);
        let crossings = count_crossings(&layers, layered);
        if crossings < best_crossings {
            best = layers.clone();
            best_crossings = crossings;
        }
    }
    best
}

fn positions(layers: &[Vec<usize>], vertex_count: usize) -> Vec<usize> {
    let mut position = vec![0; vertex_count];
    for layer in layers {
        for (index, &vertex) in layer.iter().enumerate() {
            if let Some(slot) = position.get_mut(vertex) {
                *slot = index;
            }
        }
    }
    position
}

/// One barycenter sweep: downward sorts each layer by the mean position of
/// its predecessors, upward by its successors. Vertices without neighbours
/// on that side keep their current position as key.
fn sweep_layers(layers: &mut [Vec<usize>], layered: &Layered, downward: bool) {
    let mut position = positions(layers, layered.vertex_count());
    let (neighbours, indices): (&[Vec<usize>], Vec<usize>) = if downward {
        (&layered.predecessors, (1..layers.len()).collect())
    } else {
        (
            &layered.successors,
            (0..layers.len().saturating_sub(1)).rev().collect(),
        )
    };
    for index in indices {
        let Some(layer) = layers.get_mut(index) else {
            continue;
        };
        let mut keyed: Vec<(f64, usize, usize)> = layer
            .iter()
            .map(|&vertex| {
                let current = position[vertex];
                let around = neighbours[vertex]
                    .iter()
                    .map(|&neighbour| position[neighbour] as f64);
                (mean(around).unwrap_or(current as f64), current, vertex)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        *layer = keyed.iter().map(|&(_, _, vertex)| vertex).collect();
        for (slot, &vertex) in layer.iter().enumerate() {
            position[vertex] = slot;
        }
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, count) = values.fold((0.0, 0_usize), |(sum, count), value| {
        (sum + value, count + 1)
    });
    (count > 0).then(|| sum / count as f64)
}

/// Crossings between all adjacent layer pairs: edges sorted by their upper
/// end cross exactly where their lower ends are inverted.
fn count_crossings(layers: &[Vec<usize>], layered: &Layered) -> u64 {
    let position = positions(layers, layered.vertex_count());
    layers
        .iter()
        .map(|layer| {
            let mut ends: Vec<(usize, usize)> = layer
                .iter()
                .flat_map(|&tail| {
                    let from = position[tail];
                    layered.successors[tail]
                        .iter()
                        .map(|&head| (from, position[head]))
                        .collect::<Vec<_>>()
                })
                .collect();
            ends.sort_unstable();
            let lower: Vec<usize> = ends.iter().map(|&(_, head)| head).collect();
            sort_counting_inversions(&lower).1
        })
        .sum()
}

/// Merge sort that also counts inversions, O(n log n) so big graphs stay
/// cheap to evaluate.
fn sort_counting_inversions(values: &[usize]) -> (Vec<usize>, u64) {
    if values.len() < 2 {
        return (values.to_vec(), 0);
    }
    let (left, right) = values.split_at(values.len() / 2);
    let (left, left_count) = sort_counting_inversions(left);
    let (right, right_count) = sort_counting_inversions(right);
    let mut merged = Vec::with_capacity(values.len());
    let mut inversions = left_count + right_count;
    let (mut left_next, mut right_next) = (0, 0);
    while let (Some(&left_value), Some(&right_value)) = (left.get(left_next), right.get(right_next))
    {
        if left_value <= right_value {
            merged.push(left_value);
            left_next += 1;
        } else {
            // Everything still waiting on the left is larger: one inversion each.
            merged.push(right_value);
            right_next += 1;
            inversions += (left.len() - left_next) as u64;
        }
    }
    merged.extend_from_slice(left.get(left_next..).unwrap_or_default());
    merged.extend_from_slice(right.get(right_next..).unwrap_or_default());
    (merged, inversions)
}

/// Vertical centre of every vertex: alternating passes pull each layer
/// towards its neighbours, a final pass balances both sides.
fn vertical_centers(layers: &[Vec<usize>], layered: &Layered) -> Vec<f64> {
    let mut center = vec![0.0; layered.vertex_count()];
    for layer in layers {
        let gaps = separations(layer, layered);
        let mut y = 0.0;
        for (index, &vertex) in layer.iter().enumerate() {
            if index > 0 {
                y += gaps.get(index - 1).copied().unwrap_or_default();
            }
            center[vertex] = y;
        }
    }
    for pass in 0..POSITION_PASSES {
        let downward = pass % 2 == 0;
        let indices: Vec<usize> = if downward {
            (1..layers.len()).collect()
        } else {
            (0..layers.len().saturating_sub(1)).rev().collect()
        };
        let neighbours = if downward {
            &layered.predecessors
        } else {
            &layered.successors
        };
        for index in indices {
            if let Some(layer) = layers.get(index) {
                settle_layer(layer, layered, &mut center, &[neighbours]);
            }
        }
    }
    let both_sides = [&layered.predecessors[..], &layered.successors[..]];
    for layer in layers {
        settle_layer(layer, layered, &mut center, &both_sides);
    }
    center
}

/// Moves one layer as close as possible to the mean centre of the chosen
/// neighbours, without changing its order or spacing.
fn settle_layer(layer: &[usize], layered: &Layered, center: &mut [f64], sides: &[&[Vec<usize>]]) {
    let desired: Vec<f64> = layer
        .iter()
        .map(|&vertex| {
            let around = sides
                .iter()
                .filter_map(|side| side.get(vertex))
                .flatten()
                .map(|&neighbour| center[neighbour]);
            mean(around).unwrap_or(center[vertex])
        })
        .collect();
    let placed = place_in_order(&desired, &separations(layer, layered));
    for (&vertex, y) in layer.iter().zip(placed) {
        center[vertex] = y;
    }
}

/// Minimum centre-to-centre distance between consecutive layer members.
fn separations(layer: &[usize], layered: &Layered) -> Vec<f64> {
    layer
        .windows(2)
        .filter_map(|pair| match *pair {
            [upper, lower] => {
                let both_real = !layered.is_dummy(upper) && !layered.is_dummy(lower);
                let gap = if both_real { NODE_GAP } else { DUMMY_GAP };
                Some((layered.height[upper] + layered.height[lower]) / 2.0 + gap)
            }
            _ => None,
        })
        .collect()
}

/// Least-squares placement respecting order and minimum gaps: subtracting
/// the cumulative gaps turns it into isotonic regression, solved exactly by
/// pool-adjacent-violators. Exactness is what guarantees no overlaps.
fn place_in_order(desired: &[f64], gaps: &[f64]) -> Vec<f64> {
    let mut offsets = Vec::with_capacity(desired.len());
    let mut running = 0.0;
    for index in 0..desired.len() {
        if index > 0 {
            running += gaps.get(index - 1).copied().unwrap_or_default();
        }
        offsets.push(running);
    }
    // Blocks of (sum, count) whose means must be non-decreasing.
    let mut blocks: Vec<(f64, usize)> = Vec::new();
    for (target, offset) in desired.iter().zip(&offsets) {
        blocks.push((target - offset, 1));
        while let [.., (upper_sum, upper_count), (lower_sum, lower_count)] = blocks[..] {
            if upper_sum / upper_count as f64 <= lower_sum / lower_count as f64 {
                break;
            }
            blocks.pop();
            blocks.pop();
            blocks.push((upper_sum + lower_sum, upper_count + lower_count));
        }
    }
    blocks
        .iter()
        .flat_map(|&(sum, count)| std::iter::repeat_n(sum / count as f64, count))
        .zip(&offsets)
        .map(|(base, offset)| base + offset)
        .collect()
}

/// Horizontal extent of each layer column.
struct Columns {
    left: Vec<f64>,
    width: Vec<f64>,
}

impl Columns {
    fn new(layered: &Layered, layer_count: usize) -> Self {
        let mut width = vec![DUMMY_WIDTH; layer_count];
        for (vertex, &layer) in layered.layer.iter().enumerate() {
            if let Some(slot) = width.get_mut(layer) {
                *slot = slot.max(layered.width[vertex]);
            }
        }
        let mut left = Vec::with_capacity(layer_count);
        let mut x = 0.0;
        for column_width in &width {
            left.push(x);
            x += column_width + LAYER_GAP;
        }
        Columns { left, width }
    }

    fn left(&self, column: usize) -> f64 {
        self.left.get(column).copied().unwrap_or_default()
    }

    fn width(&self, column: usize) -> f64 {
        self.width.get(column).copied().unwrap_or_default()
    }

    fn center(&self, column: usize) -> f64 {
        self.left(column) + self.width(column) / 2.0
    }

    fn edge(&self, column: usize, side: Side) -> f64 {
        match side {
            Side::Left => self.left(column),
            Side::Right => self.left(column) + self.width(column),
        }
    }
}

/// Everything routing needs to know about placed vertices.
struct Geometry<'a> {
    layered: &'a Layered,
    centers: &'a [f64],
    columns: &'a Columns,
    boxes: &'a [Rect],
}

impl Geometry<'_> {
    fn center(&self, vertex: usize) -> f64 {
        self.centers.get(vertex).copied().unwrap_or_default()
    }

    fn column(&self, vertex: usize) -> usize {
        self.layered.layer.get(vertex).copied().unwrap_or_default()
    }

    fn box_side(&self, vertex: usize, side: Side) -> f64 {
        match (self.boxes.get(vertex), side) {
            (Some(rect), Side::Left) => rect.x,
            (Some(rect), Side::Right) => rect.x + rect.width,
            (None, _) => self.columns.edge(self.column(vertex), side),
        }
    }
}

/// The vertices a relation passes through, in drawing direction (from its
/// source entity to its target), plus the sides it leaves and enters by.
struct Path {
    vertices: Vec<usize>,
    exit: Side,
    entry: Side,
}

fn relation_path(
    relation: &Relation,
    reversed: &BTreeSet<(usize, usize)>,
    layered: &Layered,
) -> Option<Path> {
    let pair = (relation.from, relation.to);
    let flipped = reversed.contains(&pair);
    let mut vertices = layered.chains.get(&orient(pair, reversed))?.clone();
    if flipped {
        vertices.reverse();
    }
    let (exit, entry) = if flipped {
        (Side::Left, Side::Right)
    } else {
        (Side::Right, Side::Left)
    };
    Some(Path {
        vertices,
        exit,
        entry,
    })
}

fn route_relations(
    model: &Model,
    reversed: &BTreeSet<(usize, usize)>,
    geometry: &Geometry,
) -> Vec<Route> {
    let paths: Vec<Option<Path>> = model
        .relations
        .iter()
        .map(|relation| relation_path(relation, reversed, geometry.layered))
        .collect();
    let ports = port_offsets(&paths, geometry);
    let lanes = lane_offsets(model, reversed);
    let mut routes: Vec<Route> = paths
        .iter()
        .enumerate()
        .map(|(index, path)| match path {
            Some(path) => {
                let port = ports.get(index).copied().unwrap_or_default();
                let lane = lanes.get(index).copied().unwrap_or_default();
                build_route(path, port, lane, geometry)
            }
            None => Route::default(),
        })
        .collect();
    place_labels(model, &mut routes, geometry.boxes);
    routes
}

/// One edge end on a box side, with the height its edge heads towards.
struct PortEnd {
    toward: f64,
    relation: usize,
    is_start: bool,
}

/// Spreads edges that share a box side so arrowheads do not pile up; ends
/// are sorted by where their edge goes so the spread adds no crossings.
fn port_offsets(paths: &[Option<Path>], geometry: &Geometry) -> Vec<(f64, f64)> {
    let mut sides: BTreeMap<(usize, Side), Vec<PortEnd>> = BTreeMap::new();
    for (relation, path) in paths.iter().enumerate() {
        let Some(path) = path else { continue };
        let vertices = &path.vertices;
        if let (Some(&first), Some(&second)) = (vertices.first(), vertices.get(1)) {
            sides.entry((first, path.exit)).or_default().push(PortEnd {
                toward: geometry.center(second),
                relation,
                is_start: true,
            });
        }
        if let [.., before, last] = vertices[..] {
            sides.entry((last, path.entry)).or_default().push(PortEnd {
                toward: geometry.center(before),
                relation,
                is_start: false,
            });
        }
    }
    let mut offsets = vec![(0.0, 0.0); paths.len()];
    for ends in sides.values_mut() {
        ends.sort_by(|a, b| {
            a.toward
                .total_cmp(&b.toward)
                .then(a.relation.cmp(&b.relation))
                .then(a.is_start.cmp(&b.is_start))
        });
        let spacing = if ends.len() > 1 {
            PORT_SPACING.min((NODE_HEIGHT - 2.0 * PORT_INSET) / (ends.len() - 1) as f64)
        } else {
            0.0
        };
        let middle = ends.len().saturating_sub(1) as f64 / 2.0;
        for (slot, end) in ends.iter().enumerate() {
            let offset = (slot as f64 - middle) * spacing;
            if let Some(pair) = offsets.get_mut(end.relation) {
                if end.is_start {
                    pair.0 = offset;
                } else {
                    pair.1 = offset;
                }
            }
        }
    }
    offsets
}

/// Relations sharing one chain of dummies (a→b plus b→a) would overlap on
/// it; each gets its own lane, ordered like their ports.
fn lane_offsets(model: &Model, reversed: &BTreeSet<(usize, usize)>) -> Vec<f64> {
    let mut chains: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for (index, relation) in model.relations.iter().enumerate() {
        let key = orient((relation.from, relation.to), reversed);
        chains.entry(key).or_default().push(index);
    }
    let mut offsets = vec![0.0; model.relations.len()];
    for members in chains.values() {
        let middle = members.len().saturating_sub(1) as f64 / 2.0;
        for (lane, &index) in members.iter().enumerate() {
            if let Some(offset) = offsets.get_mut(index) {
                *offset = (lane as f64 - middle) * LANE_SPACING;
            }
        }
    }
    offsets
}

fn build_route(path: &Path, port: (f64, f64), lane: f64, geometry: &Geometry) -> Route {
    let mut points = Vec::new();
    let (Some(&source), Some(&target)) = (path.vertices.first(), path.vertices.last()) else {
        return Route::default();
    };
    let start_y = geometry.center(source) + port.0;
    points.push(Point {
        x: geometry.box_side(source, path.exit),
        y: start_y,
    });
    // Leave the box horizontally up to the column edge so curves only run in
    // the gaps between columns and never cut through a neighbouring box.
    push_distinct(
        &mut points,
        Point {
            x: geometry.columns.edge(geometry.column(source), path.exit),
            y: start_y,
        },
    );
    let mut gaps = vec![points.len() - 1];
    let inner = path.vertices.get(1..path.vertices.len().saturating_sub(1));
    for &dummy in inner.unwrap_or_default() {
        let column = geometry.column(dummy);
        let y = geometry.center(dummy) + lane;
        points.push(Point {
            x: geometry.columns.edge(column, path.entry),
            y,
        });
        points.push(Point {
            x: geometry.columns.edge(column, path.exit),
            y,
        });
        gaps.push(points.len() - 1);
    }
    let end_y = geometry.center(target) + port.1;
    points.push(Point {
        x: geometry.columns.edge(geometry.column(target), path.entry),
        y: end_y,
    });
    push_distinct(
        &mut points,
        Point {
            x: geometry.box_side(target, path.entry),
            y: end_y,
        },
    );
    Route {
        points,
        gaps,
        label_at: Point::default(),
    }
}

/// Skips zero-length steps: a zero-length last segment leaves the arrowhead
/// direction undefined.
fn push_distinct(points: &mut Vec<Point>, point: Point) {
    let same = points
        .last()
        .is_some_and(|last| (last.x - point.x).abs() < 0.5 && (last.y - point.y).abs() < 0.5);
    if !same {
        points.push(point);
    }
}

/// Greedy label placement: each label takes the first candidate spot that
/// covers no box and no earlier label. Fan-outs from the focus entity would
/// otherwise stack their labels on top of each other.
fn place_labels(model: &Model, routes: &mut [Route], boxes: &[Rect]) {
    // Collision checks are quadratic; huge graphs are crowded anyway and
    // simply take each label's preferred spot.
    let avoid = model.relations.len() <= MAX_AVOIDED_LABELS && boxes.len() <= MAX_AVOIDED_BOXES;
    let mut placed: Vec<Rect> = Vec::new();
    for (route, relation) in routes.iter_mut().zip(&model.relations) {
        let candidates = label_candidates(route);
        let width = text_width(&relation.label, SMALL_CHAR_WIDTH);
        let free = |at: &Point| {
            let area = label_area(*at, width);
            !boxes
                .iter()
                .chain(&placed)
                .any(|other| overlaps(&area, other))
        };
        let chosen = if avoid && !relation.label.is_empty() {
            candidates.iter().find(|at| free(at))
        } else {
            None
        };
        if let Some(&at) = chosen.or(candidates.first()) {
            route.label_at = at;
            if !relation.label.is_empty() {
                placed.push(label_area(at, width));
            }
        }
    }
}

/// Label baselines to try, best first: the middle of the first gap (next to
/// the source), the middle of the last gap (next to the target), then
/// further along; each above the line, then below it.
fn label_candidates(route: &Route) -> Vec<Point> {
    let mut segments: Vec<usize> = Vec::new();
    let preferred = route.gaps.first().into_iter().chain(route.gaps.last());
    for &segment in preferred.chain(&route.gaps) {
        if !segments.contains(&segment) {
            segments.push(segment);
        }
    }
    let mut candidates = Vec::new();
    for fraction in LABEL_POSITIONS {
        for &segment in &segments {
            let (Some(&start), Some(&end)) =
                (route.points.get(segment), route.points.get(segment + 1))
            else {
                continue;
            };
            let on_curve = curve_point(start, end, fraction);
            for shift in [-EDGE_LABEL_LIFT, EDGE_LABEL_DROP] {
                candidates.push(Point {
                    x: on_curve.x,
                    y: on_curve.y + shift,
                });
            }
        }
    }
    candidates
}

/// A point on the S-curve drawn by [`path_data`] between `start` and `end`.
fn curve_point(start: Point, end: Point, fraction: f64) -> Point {
    let middle = (start.x + end.x) / 2.0;
    let rest = 1.0 - fraction;
    let (near, far) = (
        rest * rest * rest + 3.0 * rest * rest * fraction,
        3.0 * rest * fraction * fraction + fraction * fraction * fraction,
    );
    Point {
        x: start.x * rest.powi(3) + middle * 3.0 * rest * fraction + end.x * fraction.powi(3),
        y: start.y * near + end.y * far,
    }
}

/// The area a relation label covers, with a little air around it.
fn label_area(baseline: Point, width: f64) -> Rect {
    Rect {
        x: baseline.x - width / 2.0 - 2.0,
        y: baseline.y - SMALL_FONT_SIZE - 1.0,
        width: width + 4.0,
        height: SMALL_FONT_SIZE + 4.0,
    }
}

fn overlaps(a: &Rect, b: &Rect) -> bool {
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
}

/// Shifts everything so the drawing, labels included, starts at the margin,
/// and sizes the canvas to fit.
fn fit_to_margin(mut boxes: Vec<Rect>, mut routes: Vec<Route>, model: &Model) -> Layout {
    let mut bounds = Bounds::default();
    for rect in &boxes {
        bounds.include(rect.x, rect.y);
        bounds.include(rect.x + rect.width, rect.y + rect.height);
    }
    for (route, relation) in routes.iter().zip(&model.relations) {
        for point in &route.points {
            bounds.include(point.x, point.y);
        }
        if !relation.label.is_empty() {
            let half = text_width(&relation.label, SMALL_CHAR_WIDTH) / 2.0;
            let at = route.label_at;
            bounds.include(at.x - half, at.y - SMALL_FONT_SIZE);
            bounds.include(at.x + half, at.y + SMALL_FONT_SIZE / 2.0);
        }
    }
    let (dx, dy) = (MARGIN - bounds.min_x, MARGIN - bounds.min_y);
    for rect in &mut boxes {
        rect.x += dx;
        rect.y += dy;
    }
    for route in &mut routes {
        for point in route
            .points
            .iter_mut()
            .chain(std::iter::once(&mut route.label_at))
        {
            point.x += dx;
            point.y += dy;
        }
    }
    Layout {
        boxes,
        routes,
        width: (bounds.max_x - bounds.min_x + 2.0 * MARGIN).ceil(),
        height: (bounds.max_y - bounds.min_y + 2.0 * MARGIN).ceil(),
    }
}

struct Bounds {
    min_x: f64,
    min_y: f64,
    max_x: f64,
    max_y: f64,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            min_x: f64::INFINITY,
            min_y: f64::INFINITY,
            max_x: f64::NEG_INFINITY,
            max_y: f64::NEG_INFINITY,
        }
    }
}

impl Bounds {
    fn include(&mut self, x: f64, y: f64) {
        // Non-finite values cannot arise from the layout, but a poisoned
        // bound would turn the whole viewBox into NaN.
        if x.is_finite() && y.is_finite() {
            self.min_x = self.min_x.min(x);
            self.min_y = self.min_y.min(y);
            self.max_x = self.max_x.max(x);
            self.max_y = self.max_y.max(y);
        }
    }
}

// ---------------------------------------------------------------------------
// SVG output
// ---------------------------------------------------------------------------

/// Coordinates with at most one decimal keep the output small and stable.
fn number(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if !rounded.is_finite() || rounded == 0.0 {
        // Also folds -0 into 0.
        return "0".to_string();
    }
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

fn svg_open(id: &str, width: f64, height: f64, title: &str, description: &str) -> String {
    // A labelled group rather than `role="img"`: screen readers treat the
    // children of an image as decoration, and the nodes here are links.
    let (width, height) = (number(width), number(height));
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"pave-graph\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" role=\"group\" aria-labelledby=\"{id}-title\" \
         aria-describedby=\"{id}-desc\">\n<title id=\"{id}-title\">{}</title>\n\
         <desc id=\"{id}-desc\">{}</desc>\n<style>{}</style>\n\
         <rect class=\"background\" width=\"{width}\" height=\"{height}\"/>\n",
        escape(&clean_text(title)),
        escape(description),
        stylesheet(),
    )
}

/// All rules are scoped under `.pave-graph`: an inline SVG's stylesheet
/// applies to the whole HTML page.
fn stylesheet() -> String {
    let mut css = format!(
        ".pave-graph{{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}}\
         .pave-graph .background{{fill:{BACKGROUND}}}\
         .pave-graph .box{{fill:{BACKGROUND};stroke:{DEFAULT_STROKE};stroke-width:1.5px}}\
         .pave-graph .kind{{font-size:10px;fill:{MUTED_TEXT}}}\
         .pave-graph .label{{font-size:12px;fill:{TEXT_COLOR}}}\
         .pave-graph .node.focus .box{{stroke-width:3.5px}}\
         .pave-graph .node.focus .label{{font-weight:600}}\
         .pave-graph .edge path{{fill:none;stroke:{EDGE_COLOR};stroke-width:1.25px}}\
         .pave-graph .arrow{{fill:{EDGE_COLOR}}}\
         .pave-graph .edge-label{{font-size:10px;fill:{MUTED_TEXT};paint-order:stroke;\
         stroke:{BACKGROUND};stroke-width:3px;stroke-linejoin:round}}\
         .pave-graph .empty{{font-size:13px;fill:{MUTED_TEXT}}}\
         .pave-graph a{{cursor:pointer}}\
         .pave-graph a:hover .box{{stroke-width:2.5px}}\
         .pave-graph a:focus{{outline:2px solid {FOCUS_RING};outline-offset:2px}}"
    );
    for palette in &PALETTES {
        css.push_str(&format!(
            ".pave-graph .kind-{kind} .box{{fill:{fill};stroke:{stroke}}}\
             .pave-graph .kind-{kind} .kind{{fill:{ink}}}",
            kind = palette.kind,
            fill = palette.fill,
            stroke = palette.stroke,
            ink = palette.ink,
        ));
    }
    // After the palettes so the keyboard focus ring wins over kind colours.
    css.push_str(&format!(
        ".pave-graph a:focus .box{{stroke:{FOCUS_RING};stroke-width:4px}}"
    ));
    css
}

fn render_empty(id: &str, title: &str) -> String {
    let mut svg = svg_open(
        id,
        EMPTY_WIDTH,
        EMPTY_HEIGHT,
        title,
        "0 entities and 0 relations",
    );
    svg.push_str(&format!(
        "<text class=\"empty\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">No relations</text>\n</svg>\n",
        number(EMPTY_WIDTH / 2.0),
        number(EMPTY_HEIGHT / 2.0 + 4.0),
    ));
    svg
}

fn render_layout(model: &Model, layout: &Layout, id: &str, title: &str) -> String {
    let description = format!(
        "{} and {}",
        plural(model.entities.len(), "entity", "entities"),
        plural(model.relation_types(), "relation", "relations"),
    );
    let mut svg = svg_open(id, layout.width, layout.height, title, &description);
    svg.push_str(&format!(
        "<defs><marker id=\"{id}-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
         <path class=\"arrow\" fill=\"{EDGE_COLOR}\" d=\"M0 0L10 5L0 10z\"/></marker></defs>\n"
    ));
    // Edges first so boxes paint over any edge ends.
    svg.push_str("<g class=\"edges\">\n");
    for (relation, route) in model.relations.iter().zip(&layout.routes) {
        svg.push_str(&draw_edge(model, relation, route, id));
    }
    // Labels after all edges so no later edge line runs over a label.
    svg.push_str("</g>\n<g class=\"edge-labels\">\n");
    for (relation, route) in model.relations.iter().zip(&layout.routes) {
        svg.push_str(&draw_edge_label(relation, route));
    }
    svg.push_str("</g>\n<g class=\"nodes\">\n");
    for (entity, rect) in model.entities.iter().zip(&layout.boxes) {
        svg.push_str(&draw_node(entity, rect));
    }
    svg.push_str("</g>\n</svg>\n");
    svg
}

fn draw_edge(model: &Model, relation: &Relation, route: &Route, id: &str) -> String {
    if route.points.len() < 2 {
        return String::new();
    }
    let name = |index: usize| {
        model
            .entities
            .get(index)
            .map(|entity| clean_text(entity.id))
            .unwrap_or_default()
    };
    let hover = if relation.label.is_empty() {
        format!("{} → {}", name(relation.from), name(relation.to))
    } else {
        format!(
            "{} {} {}",
            name(relation.from),
            relation.full_label,
            name(relation.to)
        )
    };
    format!(
        "<g class=\"edge\"><title>{}</title><path d=\"{}\" marker-end=\"url(#{id}-arrow)\"/></g>\n",
        escape(&hover),
        path_data(&route.points),
    )
}

fn draw_edge_label(relation: &Relation, route: &Route) -> String {
    if relation.label.is_empty() || route.points.len() < 2 {
        return String::new();
    }
    format!(
        "<text class=\"edge-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
        number(route.label_at.x),
        number(route.label_at.y),
        escape(&relation.label),
    )
}

/// Straight steps where the height does not change, otherwise a cubic with
/// horizontal tangents at both ends, which reads as a smooth S-curve.
fn path_data(points: &[Point]) -> String {
    let mut data = String::new();
    for (index, point) in points.iter().enumerate() {
        let previous = index.checked_sub(1).and_then(|before| points.get(before));
        match previous {
            None => data.push_str(&format!("M{} {}", number(point.x), number(point.y))),
            Some(previous) if (previous.y - point.y).abs() < 0.05 => {
                data.push_str(&format!("L{} {}", number(point.x), number(point.y)));
            }
            Some(previous) => {
                let middle = number((previous.x + point.x) / 2.0);
                data.push_str(&format!(
                    "C{middle} {} {middle} {} {} {}",
                    number(previous.y),
                    number(point.y),
                    number(point.x),
                    number(point.y),
                ));
            }
        }
    }
    data
}

fn draw_node(entity: &Entity, rect: &Rect) -> String {
    let focus = if entity.focus { " focus" } else { "" };
    let center = number(rect.x + rect.width / 2.0);
    let group = format!(
        "<g class=\"node kind-{}{focus}\"><title>{}</title>\
         <rect class=\"box\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"6\"/>\
         <text class=\"kind\" x=\"{center}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
         <text class=\"label\" x=\"{center}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>",
        entity.kind_class,
        escape(&entity.tooltip),
        number(rect.x),
        number(rect.y),
        number(rect.width),
        number(rect.height),
        number(rect.y + KIND_BASELINE),
        escape(&entity.kind),
        number(rect.y + LABEL_BASELINE),
        escape(&entity.label),
    );
    match entity.href {
        Some(href) => {
            let current = if entity.focus {
                " aria-current=\"page\""
            } else {
                ""
            };
            format!(
                "<a class=\"node-link\" href=\"{}\"{current}>{group}</a>\n",
                escape(href)
            )
        }
        None => format!("{group}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, kind: &str) -> Node {
        Node {
            id: id.to_string(),
            label: id.rsplit('/').next().unwrap_or(id).to_string(),
            kind: kind.to_string(),
            href: Some(format!("/catalog/{id}")),
            focus: false,
        }
    }

    fn edge(from: &str, to: &str, label: &str) -> Edge {
        Edge {
            from: from.to_string(),
            to: to.to_string(),
            label: label.to_string(),
        }
    }

    /// Deterministic pseudo-random numbers (64-bit LCG) so the "random"
    /// graphs are the same on every run.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, bound: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) as usize % bound.max(1)
        }
    }

    const KINDS: [&str; 7] = [
        "component",
        "api",
        "resource",
        "system",
        "domain",
        "group",
        "user",
    ];

    fn random_graph(nodes: usize, edges: usize, seed: u64) -> Graph {
        let mut random = Lcg(seed);
        let nodes: Vec<Node> = (0..nodes)
            .map(|index| {
                let kind = KINDS[index % KINDS.len()];
                let mut node = node(&format!("{kind}:default/entity-{index}"), kind);
                node.focus = index == 0;
                if index % 5 == 0 {
                    node.label = format!("a rather long descriptive entity name {index}");
                }
                node
            })
            .collect();
        let edges = (0..if nodes.is_empty() { 0 } else { edges })
            .map(|_| {
                let from = &nodes[random.below(nodes.len())].id;
                let to = &nodes[random.below(nodes.len())].id;
                edge(
                    from,
                    to,
                    ["dependsOn", "ownedBy", "partOf", "providesApi"][random.below(4)],
                )
            })
            .collect();
        Graph { nodes, edges }
    }

    fn attribute(tag: &str, name: &str) -> Option<f64> {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        let rest = tag.get(start..)?;
        rest.get(..rest.find('"')?)?.parse().ok()
    }

    fn boxes_in(svg: &str) -> Vec<Rect> {
        svg.match_indices("<rect class=\"box\"")
            .filter_map(|(start, _)| {
                let tag = &svg[start..start + svg[start..].find("/>")?];
                Some(Rect {
                    x: attribute(tag, "x")?,
                    y: attribute(tag, "y")?,
                    width: attribute(tag, "width")?,
                    height: attribute(tag, "height")?,
                })
            })
            .collect()
    }

    fn view_box(svg: &str) -> (f64, f64) {
        let open = &svg[..svg.find('>').unwrap_or(0)];
        (
            attribute(open, "width").unwrap_or(0.0),
            attribute(open, "height").unwrap_or(0.0),
        )
    }

    /// Minimal well-formedness check: tags balance and no raw `<` or `&`
    /// escapes into text or attributes.
    fn assert_well_formed(svg: &str) {
        let mut open: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let text = &rest[..start];
            assert!(!text.contains('>'), "stray '>' in text {text:?}");
            assert_entities_valid(text);
            let end = rest[start..].find('>').expect("unclosed tag") + start;
            let tag = &rest[start + 1..end];
            assert!(!tag.contains('<'), "raw '<' inside tag {tag:?}");
            assert_entities_valid(tag);
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes in {tag:?}"
            );
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop(), Some(name), "mismatched close tag");
            } else if !tag.ends_with('/') {
                open.push(tag.split([' ', '\n']).next().unwrap_or(""));
            }
            rest = &rest[end + 1..];
        }
        assert!(open.is_empty(), "unclosed elements {open:?}");
        assert!(svg.starts_with("<svg "));
        assert!(svg.chars().all(is_xml_char));
    }

    fn assert_entities_valid(text: &str) {
        for (index, _) in text.match_indices('&') {
            let rest = &text[index..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                    .iter()
                    .any(|entity| rest.starts_with(entity)),
                "bare '&' in {text:?}"
            );
        }
    }

    #[test]
    fn hostile_text_is_escaped() {
        let hostile = r#"<script>alert("x")</script> & 'y'"#;
        let graph = Graph {
            nodes: vec![
                Node {
                    id: r#"component:default/"><script>"#.to_string(),
                    label: hostile.to_string(),
                    kind: "comp\"onent<".to_string(),
                    href: Some(r#"/catalog?a=1&b="2"'"#.to_string()),
                    focus: true,
                },
                node("api:default/b", "api"),
            ],
            edges: vec![edge(
                r#"component:default/"><script>"#,
                "api:default/b",
                hostile,
            )],
        };
        let svg = render(&graph, hostile);
        assert_well_formed(&svg);
        assert!(!svg.contains("<script"));
        assert!(svg.contains("&lt;script&gt;alert(&quot;x&quot;)"));
        assert!(svg.contains("&amp; &#39;y&#39;"));
        assert!(svg.contains(r#"href="/catalog?a=1&amp;b=&quot;2&quot;&#39;""#));
        assert!(svg.contains("class=\"node kind-component focus\""));
    }

    #[test]
    fn control_characters_are_dropped() {
        let mut graph = random_graph(2, 1, 1);
        graph.nodes[0].label = "bad\u{0}\u{1b}[31m\u{8}name\nline".to_string();
        graph.edges[0].label = "rel\u{7}".to_string();
        let svg = render(&graph, "title\u{0}");
        assert_well_formed(&svg);
        assert!(svg.contains("bad[31mname line"));
    }

    #[test]
    fn script_urls_are_not_linked() {
        let mut graph = random_graph(4, 3, 2);
        graph.nodes[0].href = Some("javascript:alert(1)".to_string());
        graph.nodes[1].href = Some(" JaVa\tScRiPt:alert(1)".to_string());
        graph.nodes[2].href = Some("data:text/html,<script>".to_string());
        graph.nodes[3].href = Some("https://backstage.example/catalog".to_string());
        let svg = render(&graph, "links");
        assert!(!svg.to_ascii_lowercase().contains("script:"));
        assert!(!svg.contains("data:"));
        assert_eq!(svg.matches("<a ").count(), 1);
        assert!(svg.contains(r#"href="https://backstage.example/catalog""#));
    }

    #[test]
    fn output_is_deterministic() {
        let graph = random_graph(30, 45, 7);
        let first = render(&graph, "Deterministic");
        assert_eq!(first, render(&graph, "Deterministic"));
        assert_eq!(first, render(&graph.clone(), "Deterministic"));
    }

    #[test]
    fn empty_graph_says_no_relations() {
        let svg = render(&Graph::default(), "Nothing");
        assert_well_formed(&svg);
        assert!(svg.contains(">No relations</text>"));
        assert!(svg.contains("<title id="));
        assert!(svg.contains("<desc id="));
        let (width, height) = view_box(&svg);
        assert!(width > 0.0 && height > 0.0);
    }

    #[test]
    fn cycle_renders_every_node_and_edge() {
        let graph = Graph {
            nodes: vec![
                node("component:default/a", "component"),
                node("component:default/b", "component"),
                node("component:default/c", "component"),
            ],
            edges: vec![
                edge("component:default/a", "component:default/b", "dependsOn"),
                edge("component:default/b", "component:default/c", "dependsOn"),
                edge("component:default/c", "component:default/a", "dependsOn"),
            ],
        };
        let svg = render(&graph, "Cycle");
        assert_well_formed(&svg);
        assert_eq!(svg.matches("<g class=\"node ").count(), 3);
        assert_eq!(svg.matches("<g class=\"edge\">").count(), 3);
        assert_eq!(svg.matches(">dependsOn</text>").count(), 3);
        assert!(svg.contains(">3 entities and 3 relations</desc>"));
    }

    #[test]
    fn fifty_nodes_never_overlap_and_fit_the_view_box() {
        for seed in [1, 2, 3, 42] {
            let svg = render(&random_graph(50, 80, seed), "Fifty");
            assert_well_formed(&svg);
            let boxes = boxes_in(&svg);
            assert_eq!(boxes.len(), 50);
            let (width, height) = view_box(&svg);
            for (index, a) in boxes.iter().enumerate() {
                assert!(a.x >= 0.0 && a.y >= 0.0, "{a:?} outside");
                assert!(
                    a.x + a.width <= width && a.y + a.height <= height,
                    "{a:?} outside"
                );
                for b in &boxes[index + 1..] {
                    assert!(!overlaps(a, b), "seed {seed}: {a:?} overlaps {b:?}");
                }
            }
        }
    }

    #[test]
    fn edges_stay_inside_the_view_box() {
        let svg = render(&random_graph(50, 80, 9), "Inside");
        let (width, height) = view_box(&svg);
        let layout_model = random_graph(50, 80, 9);
        let model = Model::new(&layout_model);
        let layout = layout(&model);
        assert_eq!(layout.width, width);
        assert_eq!(layout.height, height);
        for route in &layout.routes {
            assert!(route.points.len() >= 2);
            for point in route.points.iter().chain([&route.label_at]) {
                assert!(point.x >= 0.0 && point.x <= width, "{point:?}");
                assert!(point.y >= 0.0 && point.y <= height, "{point:?}");
            }
        }
    }

    #[test]
    fn missing_endpoints_self_loops_and_duplicates_are_skipped() {
        let graph = Graph {
            nodes: vec![
                node("component:default/a", "component"),
                node("api:default/b", "api"),
                node("api:default/b", "api"),
            ],
            edges: vec![
                edge("component:default/a", "api:default/b", "providesApi"),
                edge("component:default/a", "api:default/b", "providesApi"),
                edge("component:default/a", "resource:default/ghost", "dependsOn"),
                edge("group:default/ghost", "component:default/a", "ownerOf"),
                edge("component:default/a", "component:default/a", "dependsOn"),
            ],
        };
        let svg = render(&graph, "Skipping");
        assert_well_formed(&svg);
        assert_eq!(svg.matches("<g class=\"node ").count(), 2);
        assert_eq!(svg.matches("<g class=\"edge\">").count(), 1);
        assert!(!svg.contains("ghost"));
        assert!(svg.contains(">2 entities and 1 relation</desc>"));
    }

    #[test]
    fn relation_types_between_one_pair_share_an_arrow() {
        let graph = Graph {
            nodes: vec![
                node("component:default/a", "component"),
                node("group:default/t", "group"),
            ],
            edges: vec![
                edge("component:default/a", "group:default/t", "ownedBy"),
                edge("component:default/a", "group:default/t", "partOf"),
                edge("group:default/t", "component:default/a", "ownerOf"),
            ],
        };
        let svg = render(&graph, "Pairs");
        assert_eq!(svg.matches("<g class=\"edge\">").count(), 2);
        assert!(svg.contains(">ownedBy, partOf</text>"));
        assert!(svg.contains(">ownerOf</text>"));
        assert!(svg.contains(">2 entities and 3 relations</desc>"));
    }

    #[test]
    fn fanned_out_labels_avoid_each_other_and_boxes() {
        let hub = "component:default/hub";
        let mut nodes = vec![node(hub, "component")];
        let mut edges = Vec::new();
        for (index, relation) in [
            "dependsOn",
            "consumesApi",
            "providesApi",
            "partOf",
            "ownedBy",
            "dependsOn",
        ]
        .iter()
        .enumerate()
        {
            let id = format!("{}:default/n{index}", KINDS[index % KINDS.len()]);
            nodes.push(node(&id, KINDS[index % KINDS.len()]));
            edges.push(edge(hub, &id, relation));
        }
        let graph = Graph { nodes, edges };
        let model = Model::new(&graph);
        let layout = layout(&model);
        let areas: Vec<Rect> = model
            .relations
            .iter()
            .zip(&layout.routes)
            .map(|(relation, route)| {
                label_area(
                    route.label_at,
                    text_width(&relation.label, SMALL_CHAR_WIDTH),
                )
            })
            .collect();
        for (index, area) in areas.iter().enumerate() {
            for other in areas[index + 1..].iter().chain(&layout.boxes) {
                assert!(!overlaps(area, other), "{area:?} covers {other:?}");
            }
        }
    }

    #[test]
    fn focus_node_has_focus_class() {
        let mut graph = random_graph(6, 8, 3);
        graph.nodes[0].focus = false;
        graph.nodes[4].focus = true;
        let svg = render(&graph, "Focus");
        assert_eq!(svg.matches(" focus\"").count(), 1);
        assert!(svg.contains("<g class=\"node kind-domain focus\">"));
        assert!(svg.contains("aria-current=\"page\""));
    }

    #[test]
    fn every_node_with_href_is_a_link() {
        let mut graph = random_graph(12, 15, 4);
        graph.nodes[3].href = None;
        graph.nodes[7].href = None;
        let svg = render(&graph, "Links");
        assert_eq!(svg.matches("<a class=\"node-link\" href=\"").count(), 10);
        for node in graph.nodes.iter().filter(|node| node.href.is_some()) {
            let href = node.href.as_deref().unwrap_or_default();
            assert!(svg.contains(&format!("href=\"{}\"", escape(href))));
        }
        assert!(!svg.contains("xlink"));
    }

    #[test]
    fn long_labels_are_clamped_with_full_text_in_title() {
        let mut graph = random_graph(1, 0, 5);
        graph.nodes[0].label = "x".repeat(60);
        let svg = render(&graph, "Long");
        let clamped = format!("{}…", "x".repeat(MAX_LABEL_CHARS - 1));
        assert!(svg.contains(&format!(">{clamped}</text>")));
        assert!(svg.contains(&format!(
            "<title>{} (component:default/entity-0)</title>",
            "x".repeat(60)
        )));
        let boxes = boxes_in(&svg);
        assert!(boxes[0].width >= MAX_LABEL_CHARS as f64 * LABEL_CHAR_WIDTH);
    }

    #[test]
    fn unicode_labels_render() {
        let mut graph = random_graph(3, 2, 6);
        graph.nodes[0].label = "支払いサービス 🚀".to_string();
        graph.nodes[1].label = "Zürich-Ölpreis-Überwachung-Ω".repeat(3);
        let svg = render(&graph, "Ünïcödé");
        assert_well_formed(&svg);
        assert!(svg.contains("支払いサービス 🚀"));
        assert!(svg.contains("Ünïcödé"));
        let wide = boxes_in(&svg)[0].width;
        assert!(wide >= 8.0 * LABEL_CHAR_WIDTH * WIDE_CHAR_FACTOR);
    }

    #[test]
    fn large_and_degenerate_inputs_do_not_panic() {
        let svg = render(&random_graph(500, 900, 11), "Crowded");
        assert_eq!(boxes_in(&svg).len(), 500);
        let star = Graph {
            nodes: random_graph(300, 0, 1).nodes,
            edges: (1..300)
                .map(|index| {
                    edge(
                        "component:default/entity-0",
                        &format!("{}:default/entity-{index}", KINDS[index % 7]),
                        "x",
                    )
                })
                .collect(),
        };
        assert_eq!(boxes_in(&render(&star, "Star")).len(), 300);
        let chain = Graph {
            nodes: random_graph(400, 0, 1).nodes,
            edges: (1..400)
                .map(|index| {
                    let name = |i: usize| format!("{}:default/entity-{i}", KINDS[i % 7]);
                    edge(&name(index - 1), &name(index), "next")
                })
                .chain([edge(
                    "user:default/entity-6",
                    "component:default/entity-0",
                    "back",
                )])
                .collect(),
        };
        assert_eq!(boxes_in(&render(&chain, "Chain")).len(), 400);
        let blank = Graph {
            nodes: vec![Node::default(), Node::default()],
            edges: vec![Edge::default()],
        };
        let svg = render(&blank, "");
        assert_well_formed(&svg);
        assert!(svg.contains(">(unnamed)</text>"));
    }

    #[test]
    fn many_small_random_graphs_stay_well_formed() {
        for seed in 0..200 {
            let mut random = Lcg(seed);
            let nodes = random.below(16);
            let edges = random.below(40);
            let mut graph = random_graph(nodes, edges, seed);
            // Repeated ids and dangling edges, as a sloppy caller might send.
            if let Some(first) = graph.nodes.first().cloned() {
                graph.nodes.push(first);
            }
            graph
                .edges
                .push(edge("nowhere", "component:default/entity-0", "x"));
            let svg = render(&graph, "Random");
            assert_well_formed(&svg);
            let boxes = boxes_in(&svg);
            assert_eq!(boxes.len(), nodes);
            for (index, a) in boxes.iter().enumerate() {
                for b in &boxes[index + 1..] {
                    assert!(!overlaps(a, b), "seed {seed}: {a:?} overlaps {b:?}");
                }
            }
        }
    }

    #[test]
    fn layering_and_ordering_untangle_a_tree() {
        // Children listed in an order that crosses if kept as given.
        let graph = Graph {
            nodes: ["root", "b", "a", "b1", "a1", "b2", "a2"]
                .iter()
                .map(|name| node(&format!("component:default/{name}"), "component"))
                .collect(),
            edges: [
                ("root", "a"),
                ("root", "b"),
                ("a", "a1"),
                ("b", "b1"),
                ("a", "a2"),
                ("b", "b2"),
            ]
            .iter()
            .map(|(from, to)| {
                edge(
                    &format!("component:default/{from}"),
                    &format!("component:default/{to}"),
                    "r",
                )
            })
            .collect(),
        };
        let model = Model::new(&graph);
        let pairs: Vec<(usize, usize)> = model
            .relations
            .iter()
            .map(|relation| (relation.from, relation.to))
            .collect();
        assert!(back_edges(model.entities.len(), &pairs).is_empty());
        let layers = assign_layers(model.entities.len(), &pairs);
        assert_eq!(layers, vec![0, 1, 1, 2, 2, 2, 2]);
        let layered = insert_dummies(&model, layers, &pairs);
        assert_eq!(count_crossings(&order_layers(&layered), &layered), 0);
    }

    #[test]
    fn long_edges_get_waypoints() {
        let names = ["a", "b", "c", "d"];
        let graph = Graph {
            nodes: names
                .iter()
                .map(|name| node(&format!("component:default/{name}"), "component"))
                .collect(),
            edges: [("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")]
                .iter()
                .map(|(from, to)| {
                    edge(
                        &format!("component:default/{from}"),
                        &format!("component:default/{to}"),
                        "r",
                    )
                })
                .collect(),
        };
        let model = Model::new(&graph);
        let layout = layout(&model);
        // a→d spans three layers: two dummies, each entered and left.
        let longest = layout.routes.iter().map(|route| route.points.len()).max();
        assert!(longest >= Some(6));
    }

    #[test]
    fn placement_keeps_order_and_gaps() {
        let placed = place_in_order(&[10.0, 0.0, 5.0, 100.0], &[20.0, 20.0, 20.0]);
        for pair in placed.windows(2) {
            assert!(pair[1] - pair[0] >= 20.0 - 1e-9, "{placed:?}");
        }
        assert!((placed[3] - 100.0).abs() < 1e-9);
    }

    #[test]
    fn inversions_are_counted() {
        assert_eq!(sort_counting_inversions(&[3, 1, 2]).1, 2);
        assert_eq!(sort_counting_inversions(&[1, 1, 2]).1, 0);
        assert_eq!(sort_counting_inversions(&[]).1, 0);
    }

    fn luminance(hex: &str) -> f64 {
        let channel = |range: std::ops::Range<usize>| {
            let value = f64::from(u8::from_str_radix(&hex[range], 16).unwrap_or(0)) / 255.0;
            if value <= 0.039_28 {
                value / 12.92
            } else {
                ((value + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1..3) + 0.7152 * channel(3..5) + 0.0722 * channel(5..7)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (a, b) = (luminance(a), luminance(b));
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    #[test]
    fn palette_meets_wcag_aa() {
        for palette in &PALETTES {
            let kind = palette.kind;
            assert!(contrast(TEXT_COLOR, palette.fill) >= 4.5, "{kind} label");
            assert!(contrast(palette.ink, palette.fill) >= 4.5, "{kind} caption");
            assert!(contrast(palette.stroke, BACKGROUND) >= 3.0, "{kind} border");
        }
        assert!(contrast(MUTED_TEXT, BACKGROUND) >= 4.5);
        assert!(contrast(EDGE_COLOR, BACKGROUND) >= 3.0);
        assert!(contrast(FOCUS_RING, BACKGROUND) >= 3.0);
        let fills: BTreeSet<&str> = PALETTES.iter().map(|palette| palette.fill).collect();
        assert_eq!(fills.len(), PALETTES.len(), "kinds must be distinguishable");
    }

    #[test]
    fn svg_is_self_contained_and_accessible() {
        let svg = render(&random_graph(12, 16, 8), "Relations of web");
        assert_well_formed(&svg);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains(" role=\"group\" aria-labelledby=\"pave-graph-"));
        assert!(svg.contains(">Relations of web</title>"));
        assert!(svg.contains(">12 entities and "));
        assert!(svg.contains("<style>"));
        assert!(svg.contains("a:focus"));
        for kind in KINDS {
            assert!(svg.contains(&format!(".pave-graph .kind-{kind} .box")));
        }
        for forbidden in [
            "<script",
            "onload",
            "onclick",
            "@import",
            "<image",
            "<foreignObject",
            "http://w",
        ] {
            let count = svg.matches(forbidden).count();
            let allowed = usize::from(forbidden == "http://w");
            assert_eq!(count, allowed, "{forbidden}");
        }
    }
}
