/**
 * The protobufjs side of the codecs that read binary records (greptime,
 * milvus): a message type from an embedded upstream .proto excerpt, its field
 * names kept as written there (`keepCase`, snake_case like the upstream JSON).
 */
import * as protobuf from 'protobufjs';

/** `name` (fully qualified, e.g. `greptime.v1.CreateTableTask`) from the .proto text `source`. */
export function protoType(source: string, name: string): protobuf.Type {
  return protobuf.parse(source, { keepCase: true }).root.lookupType(name);
}
