//! (being written)
pub fn dissect(
    _b: &[u8],
    _o: &mut crate::decode::Dissection,
) -> Result<(), std::convert::Infallible> {
    Ok(())
}
