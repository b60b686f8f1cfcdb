/** rtnetlink from Node: framing codec, per-object codecs and operations, and the socket. */
export * from './codec.js';
export * from './constants.js';
export * from './values.js';
export * from './socket.js';
export * from './link.js';
export * from './veth.js';
export * from './vxlan.js';
export * from './addr.js';
export * from './route.js';
export * from './neigh.js';
