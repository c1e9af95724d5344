import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { proxyV2Header } from '../../../src/ingress/index.js';

const SIGNATURE = '0d0a0d0a000d0a515549540a';

describe('proxyV2Header', () => {
  it('writes the IPv4 form: signature, PROXY, TCP/IPv4, 12 bytes of addresses and ports', () => {
    const header = proxyV2Header(
      { address: '192.168.1.20', port: 51234 },
      { address: '10.0.0.5', port: 8080 },
    );
    expect(header.toString('hex')).toBe(`${SIGNATURE}2111000cc0a801140a000005c8221f90`);
    expect(header.length).toBe(28);
  });

  it('writes IPv4-mapped IPv6 addresses as IPv4', () => {
    const mapped = proxyV2Header(
      { address: '::ffff:192.168.1.20', port: 1 },
      { address: '::FFFF:c0a8:0105', port: 2 },
    );
    expect(mapped.toString('hex')).toBe(`${SIGNATURE}2111000cc0a80114c0a8010500010002`);
  });

  it('writes the IPv6 form with every shorthand expanded', () => {
    const header = proxyV2Header(
      { address: '2001:db8::1', port: 443 },
      { address: 'fe80::1:2:3%eth0', port: 80 },
    );
    expect(header.length).toBe(52);
    expect(header.subarray(0, 16).toString('hex')).toBe(`${SIGNATURE}21210024`);
    expect(header.subarray(16, 32).toString('hex')).toBe('20010db8000000000000000000000001');
    expect(header.subarray(32, 48).toString('hex')).toBe('fe800000000000000000000100020003');
    expect(header.readUInt16BE(48)).toBe(443);
    expect(header.readUInt16BE(50)).toBe(80);
    expect(
      proxyV2Header({ address: '::', port: 0 }, { address: '::1', port: 0 })
        .subarray(16, 48)
        .toString('hex'),
    ).toBe(`${'00'.repeat(16)}${'00'.repeat(15)}01`);
    expect(
      proxyV2Header({ address: '1:2:3:4:5:6:7:8', port: 0 }, { address: '::2:3.4.5.6', port: 0 })
        .subarray(16, 48)
        .toString('hex'),
    ).toBe('00010002000300040005000600070008' + '00000000000000000000000203040506');
  });

  it('uses the IPv6 form, IPv4 mapped, when only one side is IPv6', () => {
    const header = proxyV2Header({ address: '1.2.3.4', port: 5 }, { address: 'fd00::9', port: 6 });
    expect(header[13]).toBe(0x21);
    expect(header.subarray(16, 32).toString('hex')).toBe('00000000000000000000ffff01020304');
    expect(header.subarray(32, 48).toString('hex')).toBe('fd000000000000000000000000000009');
  });

  it('refuses something that is not an IP address or a port', () => {
    expect(() =>
      proxyV2Header({ address: 'localhost', port: 1 }, { address: '1.2.3.4', port: 2 }),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      proxyV2Header({ address: '1.2.3.4', port: 70000 }, { address: '1.2.3.4', port: 2 }),
    ).toThrow(InvalidArgumentError);
  });
});
