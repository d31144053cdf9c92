//! The Genesys Cloud Platform API as nodectl speaks it (genesys-api.md): the wire models (`dto`),
//! shared by the client and the emulator.

pub mod dto;
