// The 2019 series' selftest (tools/testing/selftests/bpf/test_xdp_chain.sh + xdp_chain.c), rebuilt on
// virtual interfaces: two hosts on a veth pair, the XDP_PASS program on the receiving side, chain calls
// added and removed through the typed API and the bpf() wrappers, ping as the oracle. In both models.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BpfObject } from '../src/lib/index.js';
import { BpfRuntime } from '../src/syscall/index.js';
import { Net, HostStack } from '../src/net/index.js';
import { BPF_F_INJECT_CHAIN_CALLS, XDP_DROP, XDP_PASS, XDP_TX } from '../src/uapi/bpf.js';
import { MODES, errno } from './chain_util.js';

const OBJ = fileURLToPath(new URL('../../test/progs/xdp_chain.o', import.meta.url));

for (const mode of MODES) {
  test(`[${mode}] selftest: ping with a pass program; wildcard chain to drop blocks it; DEL restores; exact XDP_PASS blocks, another code does not; GET ids`, () => {
    const rt = new BpfRuntime({ chainMode: mode });
    const obj = BpfObject.open(OBJ);
    const pass = obj.program('xdp_pass'), drop = obj.program('xdp_drop');
    pass.progFlags |= BPF_F_INJECT_CHAIN_CALLS; // needed in 'inject', harmless in 'native'
    obj.load({ runtime: rt, programs: ['xdp_pass', 'xdp_drop'] });

    const net = new Net({ runtime: rt });
    const [a, b] = net.createVethPair('veth0', 'veth1');
    const h1 = HostStack.on(a, '10.1.1.1');
    HostStack.on(b, '10.1.1.2');
    b.attachXdp(pass);

    // 1. the pass program alone: ping works
    assert.equal(h1.ping('10.1.1.2', 2), 2, 'ping through the pass program');
    // 2. wildcard chain to the drop program: ping fails
    pass.chain.set('any', drop);
    assert.equal(rt.bpfProgChainGet(pass.fd, 0xffffffff), drop.id, 'GET returns the drop program id');
    assert.equal(pass.chain.get('any'), drop.id);
    assert.equal(h1.ping('10.1.1.2', 2), 0, 'wildcard chain to drop blocks ping');
    const dropStats = b.progStats().find((s) => s.prog.id === drop.id);
    assert.ok(dropStats !== undefined && dropStats.runs > 0, 'the drop program ran on the interface');
    // 3. delete the chain: ping works again
    rt.bpfProgChainDel(pass.fd, 0xffffffff);
    assert.throws(() => rt.bpfProgChainGet(pass.fd, 0xffffffff), errno('ENOENT'));
    assert.equal(h1.ping('10.1.1.2', 2), 2, 'deleting the chain restores ping');
    // 4. chain on the exact XDP_PASS code: ping fails
    rt.bpfProgChainAdd(pass.fd, XDP_PASS, drop.fd);
    assert.equal(rt.bpfProgChainGet(pass.fd, XDP_PASS), drop.id);
    assert.equal(h1.ping('10.1.1.2', 2), 0, 'chain on XDP_PASS blocks ping');
    // 5. chain on another code (XDP_DROP): ping works
    assert.equal(pass.chain.delete('pass'), true);
    pass.chain.set(XDP_DROP, drop);
    assert.equal(pass.chain.get('pass'), null);
    assert.equal(rt.bpfProgChainGet(pass.fd, XDP_DROP), drop.id);
    assert.equal(h1.ping('10.1.1.2', 2), 2, 'a chain on another code does not apply');
    assert.deepEqual(pass.chain.entries().map((e) => [e.retcode, e.name]), [[XDP_DROP, 'xdp_drop']]);
    assert.equal(pass.chain.clear(), 1);
    assert.deepEqual(pass.chain.entries(), []);
  });

  test(`[${mode}] typed API: verdict names, chaining an unloaded or foreign program, runtime programs as next`, () => {
    const rt = new BpfRuntime({ chainMode: mode });
    const obj = BpfObject.open(OBJ);
    for (const p of obj.programs()) p.progFlags |= BPF_F_INJECT_CHAIN_CALLS;
    obj.load({ runtime: rt });
    const pass = obj.program('xdp_pass'), tx = obj.program('xdp_tx');
    pass.chain.set('XDP_PASS', tx.prog); // a runtime program works as `next` too
    assert.equal(pass.chain.get(XDP_PASS), tx.id);
    assert.equal(pass.testRun({ dataIn: new Uint8Array(64) }).retval, XDP_TX);
    assert.throws(() => pass.chain.set('bogus', tx), errno('EINVAL', /verdict/));
    assert.throws(() => pass.chain.set(7, tx), errno('E2BIG'));
    assert.equal(pass.chain.delete('drop'), false);
    obj.close();
    assert.throws(() => pass.chain, errno('ENOENT', /not loaded/));
  });
}
