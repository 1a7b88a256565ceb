//! The board's front-end, embedded in the binary: one HTML shell for every page, its
//! script and style, and the vendored uPlot (see `assets/vendor/README.md`).

/// The page shell (every board page; the script picks the page from the path).
pub const PAGE_HTML: &str = include_str!("../../assets/board.html");

/// An embedded file: (name under `/board/assets/`, content type, body).
pub const FILES: &[(&str, &str, &str)] = &[
    (
        "board.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/board.js"),
    ),
    (
        "board.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/board.css"),
    ),
    (
        "uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/vendor/uPlot.iife.min.js"),
    ),
    (
        "uPlot.min.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/vendor/uPlot.min.css"),
    ),
];

/// The embedded file `name`, with its content type.
pub fn file(name: &str) -> Option<(&'static str, &'static str)> {
    FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, ty, body)| (*ty, *body))
}
