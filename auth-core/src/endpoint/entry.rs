//! How a route's entry in a list is written: [`endpoint!`] and its
//! OpenAPI helpers.

/// An [`Endpoint`](super::Endpoint) from named parts, so that a list of
/// routes reads as a table and the handler and OpenAPI plumbing is written
/// once:
///
/// ```text
/// endpoint! {
///     Post "/passkeys/register",
///     needs: Session,            // a `Needs` variant
///     admit_client: true,        // counted by the per-client limit
///     body: Json,                // a `BodyRule` variant
///     cookie: false,             // offers the refresh-cookie transport
///     setup: Passkeys,           // a `Setup` variant
///     run: register,             // fn(&AuthService, Input<T>) -> BoxFuture<..>
///     doc: __path_register_doc,  // the `#[utoipa::path]` stub
///     schemas: [RegisterPasskeyRequest, PasskeyInfo], // optional
/// }
/// ```
///
/// `schemas` names the types the operation refers to that the shared
/// document does not already hold; see `described`.
macro_rules! endpoint {
    (
        $method:ident $path:literal,
        needs: $needs:ident,
        admit_client: $admit:literal,
        body: $body:ident,
        cookie: $cookie:literal,
        setup: $setup:ident,
        run: $run:path,
        doc: $doc:ty
        $(, schemas: [$($schema:ty),* $(,)?])?
        $(,)?
    ) => {
        $crate::endpoint::Endpoint {
            method: $crate::endpoint::Method::$method,
            path: $path,
            needs: $crate::endpoint::Needs::$needs,
            admit_client: $admit,
            body: $crate::endpoint::BodyRule::$body,
            cookie: $cookie,
            setup: $crate::endpoint::Setup::$setup,
            handler: &$crate::endpoint::Typed($run),
            #[cfg(feature = "openapi")]
            operation: || {
                $crate::endpoint::described::<$doc>(&[
                    $($($crate::endpoint::schema::<$schema>),*)?
                ])
            },
        }
    };
}

pub(crate) use endpoint;

/// The operation of a `#[utoipa::path]` stub, with the named schemas it
/// refers to (each added by [`schema`]), for the document's components.
#[cfg(feature = "openapi")]
pub(crate) fn described<P: utoipa::Path>(schemas: &[fn(&mut super::Schemas)]) -> super::Described {
    let mut named = Vec::new();
    for add in schemas {
        add(&mut named);
    }
    (P::methods(), P::path(), P::operation(), named)
}

/// Adds `T`'s schema, and those it refers to in turn.
#[cfg(feature = "openapi")]
pub(crate) fn schema<T: utoipa::ToSchema>(schemas: &mut super::Schemas) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}
