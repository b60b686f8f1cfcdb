/**
 * Error codes of the CNI verb layer. Each maps to the CNI error code of SPEC.md section 5
 * ("Error") that a runtime receives when the failure ends a plugin call.
 */
import { CniCode, defineErrors } from '../common/errors.js';

export const CniErrors = defineErrors({
  CNI_INCOMPATIBLE_VERSION: {
    cni: CniCode.IncompatibleVersion,
    doc: "The config's cniVersion is missing or not supported, or the verb does not exist in that version.",
  },
  CNI_UNSUPPORTED_FIELD: {
    cni: CniCode.UnsupportedField,
    doc: 'The network config has a field podnet does not know; the message names the key and its value.',
  },
  CNI_UNKNOWN_CONTAINER: {
    cni: CniCode.UnknownContainer,
    doc: 'The container is unknown or does not exist, so the runtime need not clean up its networking.',
  },
  CNI_INVALID_ENV: {
    cni: CniCode.InvalidEnv,
    doc: 'A CNI_* environment variable (including CNI_ARGS) is missing or invalid; the message names it.',
  },
  CNI_IO_FAILURE: {
    cni: CniCode.IoFailure,
    doc: 'Reading the network config from stdin or writing the result failed.',
  },
  CNI_DECODE_FAILURE: {
    cni: CniCode.DecodeFailure,
    doc: 'The network config on stdin is not a JSON object.',
  },
  CNI_INVALID_CONFIG: {
    cni: CniCode.InvalidConfig,
    doc: 'A network config field (or prevResult, runtimeConfig, GC attachments) has an invalid value; the message names its path.',
  },
  CNI_TRY_AGAIN_LATER: {
    cni: CniCode.TryAgainLater,
    doc: 'A transient condition (such as the agent being unreachable) prevents the call; the runtime should retry.',
  },
  CNI_PLUGIN_NOT_AVAILABLE: {
    cni: CniCode.PluginNotAvailable,
    doc: 'STATUS: the plugin cannot serve ADD requests now.',
  },
  CNI_LIMITED_CONNECTIVITY: {
    cni: CniCode.PluginNotAvailableLimitedConnectivity,
    doc: 'STATUS: the plugin cannot serve ADD requests and existing containers may have limited connectivity.',
  },
  CNI_INVALID_RESULT: {
    cni: CniCode.Internal,
    doc: 'The agent returned a result that is not a valid CNI result (a podnet bug); nothing was sent to the runtime.',
  },
});
