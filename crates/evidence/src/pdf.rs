//! The PDF, laid out by typst from `templates/evidence.typ` and the committed font subset,
//! inside the process: no system font, no network, no typst package. The view goes in as one
//! JSON input; the same view gives the same bytes (no timestamp, an identifier derived from the
//! content).

use std::sync::OnceLock;

use typst::foundations::{Dict, IntoValue};
use typst_as_lib::{TypstEngine, TypstTemplateMainFile};
use typst_layout::PagedDocument;

use crate::EvidenceError;
use crate::view::View;

const TEMPLATE: &str = include_str!("../templates/evidence.typ");
const FONT: &[u8] = include_bytes!("../fonts/NotoSansCJKsc-Subset.otf");

/// The compiled engine, built once: parsing the 3.5 MB font is the costly part.
fn engine() -> &'static TypstEngine<TypstTemplateMainFile> {
    static ENGINE: OnceLock<TypstEngine<TypstTemplateMainFile>> = OnceLock::new();
    ENGINE.get_or_init(|| {
        TypstEngine::builder()
            .main_file(TEMPLATE)
            .fonts([FONT])
            .build()
    })
}

/// Lays out the view and writes the PDF. CPU-bound (tens of milliseconds for a long trail):
/// callers on an async runtime run it on a blocking thread.
pub fn render(view: &View) -> Result<Vec<u8>, EvidenceError> {
    let json = serde_json::to_string(view).map_err(|e| EvidenceError::Pdf(e.to_string()))?;
    let mut inputs = Dict::new();
    inputs.insert("view".into(), json.into_value());
    let document: PagedDocument = engine()
        .compile_with_input(inputs)
        .output
        .map_err(|e| EvidenceError::Pdf(format!("the layout failed: {e}")))?;
    typst_pdf::pdf(&document, &typst_pdf::PdfOptions::default()).map_err(|errors| {
        let first = errors
            .first()
            .map(|e| e.message.to_string())
            .unwrap_or_default();
        EvidenceError::Pdf(format!("the PDF could not be written: {first}"))
    })
}
