import { CniCode, defineErrors } from '../common/errors.js';

export const AgentErrors = defineErrors({
  AGENT_UNKNOWN_ATTACHMENT: { cni: CniCode.UnknownContainer, doc: 'CHECK named a container/interface the agent holds no addresses for.' },
  AGENT_CHECK_MISMATCH: { cni: CniCode.Dataplane, doc: "CHECK found the runtime's prevResult differs from what the agent assigned." },
  AGENT_NO_POOL: { cni: CniCode.PluginNotAvailable, doc: 'STATUS: no enabled IP pool exists, so no pod can get an address.' },
  AGENT_BAD_REQUEST: { cni: CniCode.DecodeFailure, doc: 'A request on the agent socket could not be decoded.' },
  AGENT_UNKNOWN_METHOD: { cni: CniCode.InvalidArgument, doc: 'An RPC named a method the agent does not have.' },
  AGENT_CONFIG: { cni: CniCode.InvalidConfig, doc: "The agent's configuration is invalid; the message names the field." },
  AGENT_NODE_ALIVE: { cni: CniCode.Conflict, doc: 'A node removal was refused because the node is alive; stop its agent first or force it.' },
  AGENT_SOCKET_IN_USE: { cni: CniCode.Internal, doc: 'Another agent is already listening on the socket path.' },
});
