"""Protobuf message classes built at import time from short field lists: no generated
code, no build step, and a pool of their own (so they never clash with another package's
classes of the same names, such as a client library's ``prometheus.WriteRequest``).
``message_factory.GetMessageClass`` gives classes backed by the fast C (upb) runtime.

A message is ``{"Name": [field, ...]}``; a field is ``(name, number, type)`` or
``(name, number, type, "repeated")`` or ``(name, number, type, "oneof:<group>")``. A type
is a scalar (``string``, ``bytes``, ``double``, ``int64``, ``uint64``, ``uint32``,
``sint32``, ``sint64``, ``int32``, ``bool``, ``fixed64``, ``sfixed64``, ``fixed32``,
``float``) or the name of another message of the same file. Enums are declared as
``int32`` (the same varint on the wire; proto3 enums are open anyway).
"""

from __future__ import annotations

from types import SimpleNamespace

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "string": _F.TYPE_STRING, "bytes": _F.TYPE_BYTES, "double": _F.TYPE_DOUBLE,
    "float": _F.TYPE_FLOAT, "int64": _F.TYPE_INT64, "uint64": _F.TYPE_UINT64,
    "int32": _F.TYPE_INT32, "uint32": _F.TYPE_UINT32, "sint32": _F.TYPE_SINT32,
    "sint64": _F.TYPE_SINT64, "bool": _F.TYPE_BOOL, "fixed64": _F.TYPE_FIXED64,
    "sfixed64": _F.TYPE_SFIXED64, "fixed32": _F.TYPE_FIXED32,
}


def build(file_name: str, package: str, messages: dict[str, list[tuple]]) -> SimpleNamespace:
    """The message classes of one proto3 file, as attributes named like the messages."""
    fdp = descriptor_pb2.FileDescriptorProto(name=file_name, package=package, syntax="proto3")
    for name, fields in messages.items():
        m = fdp.message_type.add(name=name)
        groups: dict[str, int] = {}
        for spec in fields:
            fname, number, ftype = spec[:3]
            mode = spec[3] if len(spec) > 3 else ""
            f = m.field.add(name=fname, number=number,
                            label=_F.LABEL_REPEATED if mode == "repeated" else _F.LABEL_OPTIONAL)
            if ftype in _SCALARS:
                f.type = _SCALARS[ftype]
            elif ftype in messages:
                f.type = _F.TYPE_MESSAGE
                f.type_name = f".{package}.{ftype}"
            else:
                raise ValueError(f"{name}.{fname}: unknown type {ftype!r}")
            if mode.startswith("oneof:"):
                group = mode[len("oneof:"):]
                if group not in groups:
                    groups[group] = len(m.oneof_decl)
                    m.oneof_decl.add(name=group)
                f.oneof_index = groups[group]
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return SimpleNamespace(**{
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{name}"))
        for name in messages})
