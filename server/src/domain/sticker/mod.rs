//! What is printed in a store: QR codes, the sticker sheet, the store's logo and the
//! short codes they carry.

pub mod codes;
pub mod logo;
pub mod qr;
pub mod sheet;
