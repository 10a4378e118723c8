//! How stickers fill a printed page: paper, sticker size, and how many fit. All in
//! millimetres, because print CSS in millimetres is exact.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    A4,
    Letter,
}

impl Paper {
    pub fn parse(s: &str) -> Option<Paper> {
        match s.to_ascii_lowercase().as_str() {
            "a4" => Some(Paper::A4),
            "letter" => Some(Paper::Letter),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Paper::A4 => "a4",
            Paper::Letter => "letter",
        }
    }

    /// The CSS `@page` size keyword.
    pub fn css(self) -> &'static str {
        match self {
            Paper::A4 => "A4",
            Paper::Letter => "letter",
        }
    }

    /// Width and height in millimetres.
    pub fn mm(self) -> (f64, f64) {
        match self {
            Paper::A4 => (210.0, 297.0),
            Paper::Letter => (215.9, 279.4),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StickerSize {
    Mm50,
    Mm70,
}

impl StickerSize {
    pub fn parse(s: &str) -> Option<StickerSize> {
        match s.trim_end_matches("mm") {
            "50" => Some(StickerSize::Mm50),
            "70" => Some(StickerSize::Mm70),
            _ => None,
        }
    }

    pub fn mm(self) -> u32 {
        match self {
            StickerSize::Mm50 => 50,
            StickerSize::Mm70 => 70,
        }
    }

    /// Side of the QR code on the sticker (quiet zone included): two thirds of the sticker,
    /// leaving room for the call to action above and the label and URL below.
    pub fn qr_mm(self) -> u32 {
        match self {
            StickerSize::Mm50 => 32,
            StickerSize::Mm70 => 46,
        }
    }
}

/// Page margin: inside what every office printer can print.
pub const MARGIN_MM: f64 = 10.0;
/// Space between stickers, for the scissors.
pub const GAP_MM: f64 = 5.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SheetLayout {
    pub columns: usize,
    pub rows: usize,
}

impl SheetLayout {
    pub fn new(paper: Paper, size: StickerSize) -> SheetLayout {
        let (w, h) = paper.mm();
        let s = f64::from(size.mm());
        let fit = |space: f64| {
            (((space - 2.0 * MARGIN_MM + GAP_MM) / (s + GAP_MM)).floor() as usize).max(1)
        };
        SheetLayout {
            columns: fit(w),
            rows: fit(h),
        }
    }

    pub fn per_page(self) -> usize {
        self.columns * self.rows
    }

    /// Pages needed for `stickers` stickers (at least one, so an empty sheet still prints).
    pub fn pages(self, stickers: usize) -> usize {
        stickers.div_ceil(self.per_page()).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stickers_per_page_fit_inside_the_margins() {
        assert_eq!(
            SheetLayout::new(Paper::A4, StickerSize::Mm50),
            SheetLayout {
                columns: 3,
                rows: 5
            }
        );
        assert_eq!(
            SheetLayout::new(Paper::A4, StickerSize::Mm70),
            SheetLayout {
                columns: 2,
                rows: 3
            }
        );
        assert_eq!(
            SheetLayout::new(Paper::Letter, StickerSize::Mm50),
            SheetLayout {
                columns: 3,
                rows: 4
            }
        );
        assert_eq!(
            SheetLayout::new(Paper::Letter, StickerSize::Mm70),
            SheetLayout {
                columns: 2,
                rows: 3
            }
        );
        for paper in [Paper::A4, Paper::Letter] {
            for size in [StickerSize::Mm50, StickerSize::Mm70] {
                let l = SheetLayout::new(paper, size);
                let (w, h) = paper.mm();
                let s = f64::from(size.mm());
                assert!(
                    l.columns as f64 * s + (l.columns - 1) as f64 * GAP_MM <= w - 2.0 * MARGIN_MM
                );
                assert!(l.rows as f64 * s + (l.rows - 1) as f64 * GAP_MM <= h - 2.0 * MARGIN_MM);
            }
        }
    }

    #[test]
    fn pages_round_up_and_never_fall_to_zero() {
        let l = SheetLayout::new(Paper::A4, StickerSize::Mm50);
        assert_eq!(l.pages(0), 1);
        assert_eq!(l.pages(15), 1);
        assert_eq!(l.pages(16), 2);
        assert_eq!(l.pages(100), 7);
    }

    #[test]
    fn choices_parse_and_nothing_else_does() {
        assert_eq!(Paper::parse("A4"), Some(Paper::A4));
        assert_eq!(Paper::parse("letter"), Some(Paper::Letter));
        assert_eq!(Paper::parse("a3"), None);
        assert_eq!(StickerSize::parse("70mm"), Some(StickerSize::Mm70));
        assert_eq!(StickerSize::parse("60"), None);
    }
}
