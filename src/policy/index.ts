/**
 * Network policy, the pure core: resources (parse + validate), label selectors, the compiler
 * from policy state to per-endpoint decisions, explain, and the nftables rendering.
 */
export { PolicyErrors, PolicyValidationError, formatIssue, type PolicyIssue, type PolicyIssueCode } from './errors.js';
export { parseResources, parseResourcesText, parseResourceObjects, type ParseResult } from './parse/resources.js';
export { compileSelector, matchesSelector, selectorKey, isSelectAll, SELECT_ALL, type LabelMatcher } from './selectors.js';
export { compileNode, IFNAME_RE, predictProfileIds } from './compile/compile-node.js';
export { evaluateEndpoint, evaluateProfile, type Decider, type Verdict } from './compile/evaluate.js';
export { stateOf } from './state.js';
export type * from './compile/types.js';
export type { AddrInterval, AddrSet, PortSpan, ProtoPortBox } from './compile/space.js';
export { PROTO_NUMBER, linear, spanBoxes } from './compile/space.js';
export { explain, formatExplanation, type Explanation, type ExplainEndpoint, type ExplainSide, type DirectionExplanation, type ClusterStep, type RuleEffect, type ExplainDecider } from './explain.js';
export { ruleRefText } from './rule-text.js';
export * from './nft/render.js';
export { evaluateModel, type FakePacket, type FakeResult } from './nft/fake-eval.js';
