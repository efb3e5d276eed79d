// Package td implements the W3C Web of Things (WoT) Thing Description 1.1
// vocabulary for wotmq, an MQTT-native Web of Things hub.
//
// Agents publish Thing Descriptions (TDs) over MQTT; the hub decodes them
// with Parse, checks them with Validate, rewrites their forms, and encodes
// them again with Marshal for consumers such as node-wot and the W3C TD
// playground. Values exchanged through the Thing's affordances (property
// values, action inputs and outputs, event data) are checked against their
// DataSchema with DataSchema.Validate and DataSchema.ValidateJSON.
//
// The package depends on the Go standard library only and has no
// package-level mutable state; all functions are safe for concurrent use on
// distinct values.
//
// # Data Model
//
// Thing, SecurityScheme, Form, PropertyAffordance, ActionAffordance,
// EventAffordance and DataSchema mirror the TD classes of the same names.
// InteractionAffordance holds the members the three affordance kinds share
// and is embedded in each of them. A PropertyAffordance also embeds the
// DataSchema of its value: in JSON, the schema members (type, minimum,
// unit, readOnly, ...) sit beside the interaction members (forms, title)
// in the same object. Because both embedded structs declare Title,
// Description and Type, Go code must select them explicitly, as in
// p.InteractionAffordance.Title or p.DataSchema.Type.
//
// Strings is a member that may be a string or an array of strings (@type,
// security, op). Context is the @context member, whose entries are kept
// verbatim; Context.SetPrefix declares a prefix such as "mqv" for the MQTT
// binding vocabulary (MQTTNamespace) that Form's MQTT fields use.
//
// # Encoding
//
// Every object type has MarshalJSON and UnmarshalJSON methods, driven by the
// "td" struct tags of its fields. Members that have no field are kept
// verbatim in the type's Extra map (links, version, schemaDefinitions,
// extension members such as "ex:foo", ...), so a decode/encode round trip
// loses nothing but whitespace, member order and JSON nulls in known members
// (which read as absent).
//
// Encoding is deterministic: member names are sorted, and absent members
// (empty strings, false, nil pointers, nil slices and maps) are omitted.
// Empty but non-nil slices and maps are kept, so that "enum": [] survives
// and Validate can report it. Marshal and MarshalIndent do not escape HTML
// characters; encoding/json.Marshal does, but is otherwise equivalent.
//
// Numbers in decoded JSON values (Const, Default, Enum, values given to
// ValidateJSON) are json.Number, so they keep their exact text.
//
// # Limits
//
// Parse and the UnmarshalJSON methods reject documents nested deeper than
// MaxDepth before decoding anything, so hostile input cannot exhaust the
// stack; validation and value checking bound their recursion too. Decoding
// errors wrap ErrInvalidJSON and name the offending JSON path, for example
// "td: invalid JSON: $.properties.temp.minimum: want number, got string".
//
// # Validation
//
// Validate checks the TD rules a hub relies on and returns a
// *ValidationError that lists every problem with its JSON path (wrapping
// ErrInvalidTD):
//
//   - @context contains ContextV11 or ContextV10; title is not empty;
//     security names at least one scheme; securityDefinitions is not empty.
//   - Each security scheme is known (or a prefixed extension scheme such as
//     "ace:ACESecurityScheme"), with a valid "in", and combo schemes have
//     exactly one of oneOf and allOf; every security name is defined.
//   - Every form has an href, ops allowed for where it is (property, action,
//     event or Thing-level forms, which must have an op), a parsable
//     contentType, and valid MQTT binding terms. Affordances have at least
//     one form unless ValidateOptions.FormsOptional is set, as for an
//     agent's TD whose forms the hub replaces.
//   - Every data schema is well formed: known type, minimum <= maximum,
//     non-negative and ordered length and item bounds, positive multipleOf,
//     non-empty enum, compilable pattern, required names that exist.
//   - A readOnly property has no writeproperty form and a writeOnly property
//     no readproperty form.
//
// Problem paths use bracket quoting for names that are not identifiers:
// $.properties['a.b'].forms[0].op, $['@context'].
//
// # Value Validation
//
// DataSchema.Validate checks a decoded JSON value against the JSON Schema
// subset of the TD vocabulary and returns a *ValueError (wrapping
// ErrInvalidValue) for the first violation, such as
// "$.brightness: want integer, got string".
package td
