//! The Protobuf codec of incidentd's services: prost's, except that a request
//! that does not decode (a string that is not UTF-8, a field of the wrong wire
//! type, a truncated message) is the caller's fault: INVALID_ARGUMENT with
//! reason MALFORMED_REQUEST. prost's own codec answers INTERNAL, as gRPC's
//! status guide asks of a client that cannot parse a server's answer.

use std::marker::PhantomData;

use prost::Message;
use tonic::{
    Status,
    codec::{DecodeBuf, Decoder},
};
use tonic_prost::ProstEncoder;

use super::to_status;
use crate::domain::Error;

/// Named in `build.rs` (`codec_path`), so every generated service uses it.
pub struct Codec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for Codec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> tonic::codec::Codec for Codec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = StrictDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        StrictDecoder(PhantomData)
    }
}

/// Decodes `U`, answering bytes that are not one as the caller's error.
pub struct StrictDecoder<U>(PhantomData<U>);

impl<U: Message + Default> Decoder for StrictDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf)
            .map(Some)
            .map_err(|error| to_status(Error::Malformed(error.to_string())))
    }
}
