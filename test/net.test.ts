// Virtual interfaces, veth pairs and the host stack (src/net): two hosts ping each other across a veth pair,
// with XDP programs (clang-built, test/progs/xdp_net.c) deciding what gets through; TX reflection; redirects
// by ifindex and through a devmap between three interfaces; invalid redirect targets and actions counted as
// exceptions; ARP and ICMP on the wire with correct checksums; loops bounded by the hop limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfObject } from '../src/lib/index.js';
import { BpfError } from '../src/errors.js';
import { Net, HostStack, createVethHosts } from '../src/net/index.js';
import { writePcap } from '../src/net/pcap.js';
import {
  ARPOP_REPLY, ARPOP_REQUEST, ETH_P_ARP, ETH_P_IP, ICMP_ECHO, ICMP_ECHOREPLY, IPPROTO_ICMP, buildArp, buildIcmpEcho, buildIpv4,
  inetChecksum, parseArp, parseIpv4, parseIpv4Frame, rd16,
} from '../src/net/ether.js';
import { XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_REDIRECT, XDP_TX } from '../src/uapi/bpf.js';

const OBJ = new URL('../../test/progs/xdp_net.o', import.meta.url).pathname;

/** Two hosts on a veth pair (10.0.0.1 on veth0, 10.0.0.2 on veth1) and the object loaded in the same runtime. */
function setup() {
  const net = new Net();
  const obj = BpfObject.open(OBJ).load({ runtime: net.rt });
  const [a, b] = net.createVethPair('veth0', 'veth1');
  const ha = HostStack.on(a, '10.0.0.1');
  const hb = HostStack.on(b, '10.0.0.2');
  return { net, obj, a, b, ha, hb };
}

test('veth: two hosts ping each other without XDP, ARP first, then ICMP echo', () => {
  const { a, b, ha, hb } = setup();
  assert.equal(ha.ping('10.0.0.2', 3), 3);
  assert.equal(hb.ping('10.0.0.1', 2), 2);
  // One ARP exchange per direction (the requester learns from the reply, the responder from the request).
  assert.equal(ha.stats.arpRequestsOut, 1);
  assert.equal(hb.stats.arpRequestsOut, 0, 'b learned a from its ARP request');
  assert.deepEqual([...ha.arpCache.get(parseIpv4('10.0.0.2'))!], [...b.mac]);
  assert.deepEqual([...hb.arpCache.get(parseIpv4('10.0.0.1'))!], [...a.mac]);
  assert.equal(hb.stats.echoRequestsIn, 3);
  assert.equal(ha.stats.echoRepliesIn, 3);
  assert.equal(ha.stats.badChecksums + hb.stats.badChecksums, 0);
  // a sent 1 ARP request + 3 echo requests + 2 echo replies.
  assert.equal(a.stats.txPackets, 6);
  assert.equal(b.stats.rxPackets, 6);
});

test('veth: XDP_PASS on one side keeps ping working, XDP_DROP blocks it, detaching restores it', () => {
  const { obj, b, ha } = setup();
  b.attachXdp(obj.program('xdp_pass'));
  assert.equal(ha.ping('10.0.0.2', 4), 4);
  const pass = b.progStats().find((s) => s.prog.name === 'xdp_pass')!;
  assert.equal(pass.verdicts[XDP_PASS], 5, 'ARP request + 4 echo requests');
  b.attachXdp(obj.program('xdp_drop'));
  assert.equal(ha.ping('10.0.0.2', 3), 0);
  assert.equal(b.stats.verdicts[XDP_DROP], 3);
  b.detachXdp();
  assert.equal(ha.ping('10.0.0.2', 2), 2);
});

test('veth: an ICMP-only filter lets ARP resolve but no ping through; with a fresh cache the drop program blocks ARP too', () => {
  const { obj, b, ha } = setup();
  b.attachXdp(obj.program('xdp_drop_icmp'));
  assert.equal(ha.ping('10.0.0.2', 2), 0);
  assert.ok(ha.arpCache.has(parseIpv4('10.0.0.2')), 'ARP passed the filter');
  assert.equal(ha.stats.arpRequestsOut, 1);
  b.attachXdp(obj.program('xdp_drop'));
  ha.arpCache.clear();
  assert.equal(ha.ping('10.0.0.2', 2), 0);
  assert.equal(ha.stats.arpRequestsOut, 3, 'one unanswered ARP request per ping');
  assert.equal(ha.stats.echoRequestsOut, 2, 'no echo requests were sent without a MAC');
});

test('ARP and ICMP frames on the wire: fields and checksums', () => {
  const { a, b, ha } = setup();
  const seen: Uint8Array[] = [];
  const orig = b.rxHandler!;
  b.rxHandler = (f, d) => { seen.push(f.slice()); orig(f, d); };
  const back: Uint8Array[] = [];
  const origA = a.rxHandler!;
  a.rxHandler = (f, d) => { back.push(f.slice()); origA(f, d); };
  assert.equal(ha.ping('10.0.0.2', 1, { id: 0x4242, size: 33 }), 1);
  // ARP request: broadcast, who-has 10.0.0.2 tell 10.0.0.1.
  const req = parseArp(seen[0])!;
  assert.equal(rd16(seen[0], 12), ETH_P_ARP);
  assert.ok(seen[0].subarray(0, 6).every((x) => x === 0xff));
  assert.equal(req.op, ARPOP_REQUEST);
  assert.equal(req.senderIp, parseIpv4('10.0.0.1'));
  assert.equal(req.targetIp, parseIpv4('10.0.0.2'));
  assert.deepEqual([...req.senderMac], [...a.mac]);
  // ARP reply: unicast back with b's MAC.
  const rep = parseArp(back[0])!;
  assert.equal(rep.op, ARPOP_REPLY);
  assert.deepEqual([...back[0].subarray(0, 6)], [...a.mac]);
  assert.deepEqual([...rep.senderMac], [...b.mac]);
  assert.equal(rep.senderIp, parseIpv4('10.0.0.2'));
  // Echo request and reply: IPv4 header checksum and ICMP checksum verify, id/seq/data echoed.
  for (const [f, type] of [[seen[1], ICMP_ECHO], [back[1], ICMP_ECHOREPLY]] as const) {
    assert.equal(rd16(f, 12), ETH_P_IP);
    const ip = parseIpv4Frame(f)!;
    assert.ok(ip.csumOk);
    assert.equal(inetChecksum(f, 14, 20), 0);
    assert.equal(ip.proto, IPPROTO_ICMP);
    assert.equal(f[34], type);
    assert.equal(inetChecksum(f, 34, ip.totalLen - 20), 0);
    assert.equal(rd16(f, 38), 0x4242);
    assert.equal(rd16(f, 40), 1);
    assert.equal(ip.totalLen, 20 + 8 + 33);
    assert.deepEqual([...f.subarray(42, 42 + 33)], Array.from({ length: 33 }, (_, k) => k));
  }
  assert.equal(parseIpv4Frame(back[1])!.src, parseIpv4('10.0.0.2'));
  assert.equal(parseIpv4Frame(back[1])!.dst, parseIpv4('10.0.0.1'));
});

test('host stack: echo requests with a bad ICMP or IP checksum get no reply', () => {
  const { a, b, ha, hb } = setup();
  assert.equal(ha.ping('10.0.0.2', 1), 1); // fill the ARP caches
  const good = buildIpv4(a.mac, b.mac, parseIpv4('10.0.0.1'), parseIpv4('10.0.0.2'), IPPROTO_ICMP, buildIcmpEcho(ICMP_ECHO, 7, 1, new Uint8Array(8)));
  const badIcmp = good.slice(); badIcmp[36] ^= 1;
  const badIp = good.slice(); badIp[24] ^= 1;
  a.transmit(badIcmp);
  a.transmit(badIp);
  assert.equal(hb.stats.badChecksums, 2);
  assert.equal(ha.repliesFor(7, 1), 0);
  a.transmit(good);
  assert.equal(ha.repliesFor(7, 1), 1);
  // Frames for another MAC or another address are ignored.
  const otherIp = buildIpv4(a.mac, b.mac, parseIpv4('10.0.0.1'), parseIpv4('10.0.0.9'), IPPROTO_ICMP, buildIcmpEcho(ICMP_ECHO, 8, 1, new Uint8Array(0)));
  const before = hb.stats.ignored;
  a.transmit(otherIp);
  assert.equal(hb.stats.ignored, before + 1);
  assert.equal(ha.repliesFor(8, 1), 0);
});

test('XDP_TX reflects the frame back out of the receiving device with MACs swapped', () => {
  const { obj, a, b } = setup();
  b.attachXdp(obj.program('xdp_reflect'));
  const got: Uint8Array[] = [];
  a.rxHandler = (f) => void got.push(f.slice());
  const frame = new Uint8Array(60);
  frame.set(b.mac, 0); frame.set(a.mac, 6); frame[12] = 0x88; frame[13] = 0xb5; frame[20] = 0xab;
  a.transmit(frame);
  assert.equal(got.length, 1);
  assert.deepEqual([...got[0].subarray(0, 6)], [...a.mac]);
  assert.deepEqual([...got[0].subarray(6, 12)], [...b.mac]);
  assert.equal(got[0][20], 0xab);
  assert.equal(b.stats.verdicts[XDP_TX], 1);
  assert.equal(b.stats.txPackets, 1);
});

test('two reflectors facing each other: the hop limit stops the loop and counts it', () => {
  const net = new Net({ maxHops: 10 });
  const obj = BpfObject.open(OBJ).load({ runtime: net.rt });
  const [a, b] = net.createVethPair('r0', 'r1');
  a.attachXdp(obj.program('xdp_reflect'));
  b.attachXdp(obj.program('xdp_reflect'));
  const v = a.receive(new Uint8Array(64));
  assert.equal(v, XDP_TX);
  assert.equal(net.pending, 0);
  assert.equal(a.stats.verdicts[XDP_TX] + b.stats.verdicts[XDP_TX], 11);
  assert.equal(a.stats.loopDropped + b.stats.loopDropped, 1);
});

/** Three devices: in0 (receives), out1 and out2, each the end of a veth pair whose peer collects frames. */
function three() {
  const net = new Net();
  const obj = BpfObject.open(OBJ).load({ runtime: net.rt });
  const [in0, w0] = net.createVethPair('in0', 'w0');
  const [out1, w1] = net.createVethPair('out1', 'w1');
  const [out2, w2] = net.createVethPair('out2', 'w2');
  const wires = new Map<string, Uint8Array[]>();
  for (const w of [w0, w1, w2]) {
    wires.set(w.name, []);
    w.rxHandler = (f) => void wires.get(w.name)!.push(f.slice());
  }
  const frame = new Uint8Array(60).fill(0x5a);
  return { net, obj, in0, out1, out2, w0, wires, frame };
}

test('redirect with bpf_redirect(ifindex) sends the frame out of the target device', () => {
  const { obj, in0, out1, out2, wires, frame } = three();
  obj.map('cfg').set(0, out2.ifindex);
  in0.attachXdp(obj.program('xdp_redirect_ifindex'));
  assert.equal(in0.receive(frame), XDP_REDIRECT);
  assert.equal(wires.get('w2')!.length, 1);
  assert.deepEqual(wires.get('w2')![0], frame);
  assert.equal(wires.get('w1')!.length, 0);
  assert.equal(out2.stats.txPackets, 1);
  assert.equal(in0.stats.verdicts[XDP_REDIRECT], 1);
  assert.equal(in0.stats.exceptions, 0);
  obj.map('cfg').set(0, out1.ifindex);
  in0.receive(frame);
  assert.equal(wires.get('w1')!.length, 1);
});

test('redirect through a devmap: slot -> device, broadcast with and without the ingress device, egress program', () => {
  const { obj, in0, out1, out2, wires, frame } = three();
  const tx = obj.map('tx_ports');
  tx.set(0, out1.ifindex);
  tx.set(1, out2.ifindex);
  tx.set(2, in0.ifindex);
  in0.attachXdp(obj.program('xdp_redirect_devmap'));
  obj.map('cfg').set(1, 1);
  assert.equal(in0.receive(frame), XDP_REDIRECT);
  assert.equal(wires.get('w2')!.length, 1);
  // Broadcast: every slot, including in0 itself (the frame leaves in0 back to w0) ...
  obj.map('cfg').set(2, 1 << 3);
  in0.receive(frame);
  assert.deepEqual([...wires.values()].map((w) => w.length), [1, 1, 2]);
  // ... and with BPF_F_EXCLUDE_INGRESS, every slot but in0.
  obj.map('cfg').set(2, (1 << 3) | (1 << 4));
  in0.receive(frame);
  assert.deepEqual([...wires.values()].map((w) => w.length), [1, 2, 3]);
  assert.equal(in0.stats.exceptions, 0);
});

test('devmap egress program: PASS sends, DROP drops silently, another value is an exception', () => {
  const net = new Net();
  const obj = BpfObject.open(OBJ).load({ runtime: net.rt });
  const [in0] = net.createVethPair('in0', 'w0');
  const [out1, w1] = net.createVethPair('out1', 'w1');
  const got: Uint8Array[] = [];
  w1.rxHandler = (f) => void got.push(f.slice());
  const value = new Uint8Array(8);
  new DataView(value.buffer).setUint32(0, out1.ifindex, true);
  new DataView(value.buffer).setInt32(4, obj.program('xdp_egress').fd, true);
  net.rt.mapUpdateElem({ mapFd: obj.map('tx_ports_prog').fd, key: new Uint8Array(4), value });
  in0.attachXdp(obj.program('xdp_redirect_devmap_prog'));
  const cfg = obj.map('cfg');
  cfg.set(3, XDP_PASS);
  in0.receive(new Uint8Array(60));
  assert.equal(got.length, 1);
  cfg.set(3, XDP_DROP);
  in0.receive(new Uint8Array(60));
  assert.equal(got.length, 1);
  assert.equal(in0.stats.exceptions, 0);
  cfg.set(3, XDP_TX);
  in0.receive(new Uint8Array(60));
  assert.equal(got.length, 1);
  assert.equal(in0.stats.exceptions, 1);
  assert.equal(cfg.getNumber(4), 3n, 'the egress program ran for each frame');
});

test('invalid redirect targets and actions are dropped and counted as exceptions', () => {
  const { obj, in0, out1, wires, frame } = three();
  const cfg = obj.map('cfg');
  // bpf_redirect to an ifindex with no device.
  cfg.set(0, 99);
  in0.attachXdp(obj.program('xdp_redirect_ifindex'));
  assert.equal(in0.receive(frame), XDP_REDIRECT);
  assert.equal(in0.stats.redirectErrors, 1);
  // A device that is down.
  cfg.set(0, out1.ifindex);
  out1.setUp(false);
  in0.receive(frame);
  assert.equal(in0.stats.redirectErrors, 2);
  out1.setUp(true);
  // A frame larger than the target's MTU.
  out1.mtu = 100;
  in0.receive(new Uint8Array(200));
  assert.equal(in0.stats.redirectErrors, 3);
  out1.mtu = 1500;
  // An empty devmap slot: bpf_redirect_map returns the flags' low bits (XDP_ABORTED here): an exception.
  in0.attachXdp(obj.program('xdp_redirect_devmap'));
  cfg.set(1, 5);
  cfg.set(2, 0);
  assert.equal(in0.receive(frame), XDP_ABORTED);
  // XDP_REDIRECT without a redirect helper.
  in0.attachXdp(obj.program('xdp_redirect_nohelper'));
  assert.equal(in0.receive(frame), XDP_REDIRECT);
  assert.equal(in0.stats.redirectErrors, 4);
  // An action that does not exist.
  in0.attachXdp(obj.program('xdp_bad_action'));
  assert.equal(in0.receive(frame), 7);
  assert.equal(in0.stats.verdicts[5], 1);
  assert.equal(in0.stats.exceptions, 6, '4 redirect errors, 1 ABORTED, 1 invalid action');
  assert.ok([...wires.values()].every((w) => w.length === 0), 'nothing left any device');
});

test('devices: names, MTU and frame checks, ifindexes for test runs and devmaps, program checks', () => {
  const { net, obj, a, b } = setup();
  assert.throws(() => net.createDevice('veth0'), (e: unknown) => e instanceof BpfError && e.code === 'EEXIST');
  assert.throws(() => net.createDevice('a-name-that-is-too-long'), (e: unknown) => e instanceof BpfError && e.code === 'EINVAL');
  assert.throws(() => net.createDevice('x', { mtu: 9000 }), (e: unknown) => e instanceof BpfError && e.code === 'EINVAL');
  assert.throws(() => net.device(77), (e: unknown) => e instanceof BpfError && e.code === 'ENODEV');
  assert.equal(net.device('veth1'), b);
  assert.ok(a.ifindex >= 2 && b.ifindex === a.ifindex + 1, 'ifindex 1 is lo');
  // A runt and an oversized frame are dropped before XDP.
  b.attachXdp(obj.program('xdp_pass'));
  assert.equal(b.receive(new Uint8Array(10)), -1);
  assert.equal(b.receive(new Uint8Array(1600)), -1);
  assert.equal(b.stats.rxDropped, 2);
  assert.equal(b.progStats().length, 0, 'the program never ran');
  // A devmap slot naming no device is refused (EINVAL), one naming a device is fine.
  assert.throws(() => obj.map('tx_ports').set(3, 55), (e: unknown) => e instanceof BpfError && e.code === 'EINVAL');
  obj.map('tx_ports').set(3, b.ifindex);
  // Test runs accept the device as ingress_ifindex.
  const ctx = new Uint8Array(24);
  new DataView(ctx.buffer).setUint32(4, 60, true);
  new DataView(ctx.buffer).setUint32(12, b.ifindex, true);
  assert.equal(obj.program('xdp_pass').testRun({ dataIn: new Uint8Array(60), ctxIn: ctx }).retval, XDP_PASS);
  // Only XDP programs for devices attach.
  assert.throws(() => a.attachXdp(obj.program('xdp_egress')), (e: unknown) => e instanceof BpfError && e.code === 'EINVAL');
  const other = BpfObject.open(OBJ).load();
  assert.throws(() => a.attachXdp(other.program('xdp_pass')), (e: unknown) => e instanceof BpfError && e.code === 'EINVAL');
  a.attachXdp(obj.program('xdp_pass').fd);
  assert.equal(a.programs()[0].name, 'xdp_pass');
});

test('counters: per program and per verdict, shown as a table', () => {
  const { obj, b, ha } = setup();
  b.attachXdp(obj.program('xdp_drop_icmp'));
  ha.ping('10.0.0.2', 3);
  const s = b.progStats()[0];
  assert.equal(s.runs, 4);
  assert.equal(s.verdicts[XDP_PASS], 1);
  assert.equal(s.verdicts[XDP_DROP], 3);
  const text = b.formatStats();
  assert.match(text, /veth1 \(ifindex \d+\): rx 4 packets/);
  assert.match(text, /xdp_drop_icmp\s+\d+\s+4\s+0\s+3\s+1\s+0\s+0\s+0/);
  assert.match(text, /= verdict\s+4\s+0\s+3\s+1/);
  assert.equal(JSON.parse(JSON.stringify(s)).verdicts.DROP, 3);
});

test('createVethHosts: the selftest topology; a capture fed to a device', () => {
  const t = createVethHosts();
  const obj = BpfObject.open(OBJ).load({ runtime: t.net.rt });
  assert.equal(t.pingAB(2), 2);
  assert.equal(t.pingBA(1), 1);
  t.a.attachXdp(obj.program('xdp_drop'));
  assert.equal(t.pingBA(2), 0, 'the requests arrive on a and are dropped there');
  assert.equal(t.pingAB(1), 0, 'requests from a pass, the echo request arrives on b, the reply is dropped on a');
  assert.equal(t.hostB.stats.echoRequestsIn, 3, '2 + the one that got through a\'s hook the other way');
  t.a.detachXdp();
  // Three frames from a capture: the ARP request is answered (b transmits, a receives the reply).
  const frames = [
    buildArp(ARPOP_REQUEST, t.a.mac, parseIpv4(t.ipA), null, parseIpv4(t.ipB)),
    new Uint8Array(60), new Uint8Array(8),
  ];
  t.b.attachXdp(obj.program('xdp_pass'));
  const before = t.hostB.stats.arpRequestsIn;
  assert.equal(t.b.receiveCapture(writePcap(frames.map((data) => ({ data })))), 3);
  assert.equal(t.hostB.stats.arpRequestsIn, before + 1);
  assert.equal(t.b.stats.rxDropped, 1, 'the 8-byte runt');
  assert.throws(() => t.b.receiveCapture(writePcap([{ data: frames[1] }], { linktype: 101 })), (e: unknown) => e instanceof BpfError && e.code === 'EINVAL');
});

test('queue: a receive from inside a handler is queued (-1) and processed after; a full queue drops and counts', () => {
  const net = new Net({ queueLen: 2 });
  const [a, b] = net.createVethPair('q0', 'q1');
  const c = net.createDevice('q2');
  const seen: string[] = [];
  c.rxHandler = () => void seen.push('c');
  b.rxHandler = () => {
    seen.push('b');
    assert.equal(c.receive(new Uint8Array(60)), -1, 'queued while the network is busy');
    assert.equal(seen.includes('c'), false);
    // Three frames out of b towards a: the queue (2 slots, one taken by c's frame) holds one more.
    for (let i = 0; i < 3; i++) b.transmit(new Uint8Array(60));
  };
  let aGot = 0;
  a.rxHandler = () => void aGot++;
  assert.equal(b.receive(new Uint8Array(60)), XDP_PASS);
  assert.deepEqual(seen, ['b', 'c']);
  assert.equal(aGot, 1);
  assert.equal(net.queueDrops, 2);
  assert.equal(a.stats.rxDropped, 2);
  assert.equal(b.stats.txPackets, 3);
  assert.equal(net.pending, 0);
});
