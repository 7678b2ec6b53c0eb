import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseReference, referenceFromImageAndTag } from '../../src/registry/reference.js';
import { InvalidImageReference } from '../../src/registry/types.js';

const DIGEST = `sha256:${'a1'.repeat(32)}`;

function assertInvalid(fn: () => unknown, written: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidImageReference, `expected InvalidImageReference, got ${String(err)}`);
    assert.equal(err.reference, written);
    return true;
  });
}

describe('parseReference: Docker Hub normalisation', () => {
  const cases: Array<[string, { registry: string; repository: string; tag?: string; digest?: string; canonical: string }]> = [
    ['nginx', { registry: 'docker.io', repository: 'library/nginx', tag: 'latest', canonical: 'docker.io/library/nginx:latest' }],
    ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27', canonical: 'docker.io/library/nginx:1.27' }],
    ['nginx:stable-alpine3.20', { registry: 'docker.io', repository: 'library/nginx', tag: 'stable-alpine3.20', canonical: 'docker.io/library/nginx:stable-alpine3.20' }],
    ['user/app', { registry: 'docker.io', repository: 'user/app', tag: 'latest', canonical: 'docker.io/user/app:latest' }],
    ['user/app:tag', { registry: 'docker.io', repository: 'user/app', tag: 'tag', canonical: 'docker.io/user/app:tag' }],
    ['docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx', tag: 'latest', canonical: 'docker.io/library/nginx:latest' }],
    ['docker.io/library/nginx:latest', { registry: 'docker.io', repository: 'library/nginx', tag: 'latest', canonical: 'docker.io/library/nginx:latest' }],
    ['index.docker.io/user/app', { registry: 'docker.io', repository: 'user/app', tag: 'latest', canonical: 'docker.io/user/app:latest' }],
    ['index.docker.io/busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest', canonical: 'docker.io/library/busybox:latest' }],
    ['a/b/c/d', { registry: 'docker.io', repository: 'a/b/c/d', tag: 'latest', canonical: 'docker.io/a/b/c/d:latest' }],
    ['my-org/my_app.v2', { registry: 'docker.io', repository: 'my-org/my_app.v2', tag: 'latest', canonical: 'docker.io/my-org/my_app.v2:latest' }],
    // Without a slash there is no registry part: this is Docker Hub's library/ghcr.io.
    ['ghcr.io', { registry: 'docker.io', repository: 'library/ghcr.io', tag: 'latest', canonical: 'docker.io/library/ghcr.io:latest' }],
    ['a__b/c---d', { registry: 'docker.io', repository: 'a__b/c---d', tag: 'latest', canonical: 'docker.io/a__b/c---d:latest' }],
    // Docker reads a lone host:port as an image named like the host, tagged with the port.
    ['localhost:5000', { registry: 'docker.io', repository: 'library/localhost', tag: '5000', canonical: 'docker.io/library/localhost:5000' }],
  ];
  for (const [input, expected] of cases) {
    it(`${input} → ${expected.canonical}`, () => {
      assert.deepEqual({ ...parseReference(input) }, expected);
    });
  }
});

describe('parseReference: other registries', () => {
  const cases: Array<[string, { registry: string; repository: string; tag?: string; digest?: string; canonical: string }]> = [
    ['registry:5000/a/b', { registry: 'registry:5000', repository: 'a/b', tag: 'latest', canonical: 'registry:5000/a/b:latest' }],
    ['localhost:5000/x', { registry: 'localhost:5000', repository: 'x', tag: 'latest', canonical: 'localhost:5000/x:latest' }],
    ['localhost/x:dev', { registry: 'localhost', repository: 'x', tag: 'dev', canonical: 'localhost/x:dev' }],
    ['ghcr.io/o/a', { registry: 'ghcr.io', repository: 'o/a', tag: 'latest', canonical: 'ghcr.io/o/a:latest' }],
    ['ghcr.io/o/a:v1.2.3', { registry: 'ghcr.io', repository: 'o/a', tag: 'v1.2.3', canonical: 'ghcr.io/o/a:v1.2.3' }],
    ['127.0.0.1:5000/x', { registry: '127.0.0.1:5000', repository: 'x', tag: 'latest', canonical: '127.0.0.1:5000/x:latest' }],
    ['[::1]:5000/team/app:1', { registry: '[::1]:5000', repository: 'team/app', tag: '1', canonical: '[::1]:5000/team/app:1' }],
    ['Registry.Example.COM/app', { registry: 'Registry.Example.COM', repository: 'app', tag: 'latest', canonical: 'Registry.Example.COM/app:latest' }],
    ['registry.example.com/app', { registry: 'registry.example.com', repository: 'app', tag: 'latest', canonical: 'registry.example.com/app:latest' }],
  ];
  for (const [input, expected] of cases) {
    it(`${input} → ${expected.canonical}`, () => {
      assert.deepEqual({ ...parseReference(input) }, expected);
    });
  }
});

describe('parseReference: digests', () => {
  it('a digest alone pins the manifest and implies no tag', () => {
    assert.deepEqual(
      { ...parseReference(`ghcr.io/o/app@${DIGEST}`) },
      { registry: 'ghcr.io', repository: 'o/app', digest: DIGEST, canonical: `ghcr.io/o/app@${DIGEST}` },
    );
  });
  it('a tag and a digest are both kept', () => {
    assert.deepEqual(
      { ...parseReference(`nginx:1.27@${DIGEST}`) },
      { registry: 'docker.io', repository: 'library/nginx', tag: '1.27', digest: DIGEST, canonical: `docker.io/library/nginx:1.27@${DIGEST}` },
    );
  });
  it('a digest on a registry with a port', () => {
    const ref = parseReference(`localhost:5000/x@${DIGEST}`);
    assert.equal(ref.registry, 'localhost:5000');
    assert.equal(ref.tag, undefined);
    assert.equal(ref.digest, DIGEST);
  });
});

describe('parseReference: limits', () => {
  it('accepts a 128-character tag and refuses 129', () => {
    const tag = `v${'x'.repeat(127)}`;
    assert.equal(parseReference(`nginx:${tag}`).tag, tag);
    assertInvalid(() => parseReference(`nginx:${tag}x`), `nginx:${tag}x`);
  });
  it('accepts a name of 255 characters after normalisation and refuses 256', () => {
    // docker.io/ is 10 characters; the rest splits into components of at most 100.
    const repository = (length: number) => `${'a'.repeat(100)}/${'b'.repeat(100)}/${'c'.repeat(length - 202)}`;
    const ok = repository(245);
    assert.equal(parseReference(ok).repository, ok);
    const tooLong = repository(246);
    assertInvalid(() => parseReference(tooLong), tooLong);
  });
  it('counts the implicit library/ towards the limit', () => {
    const name = 'a'.repeat(230); // docker.io/library/ + 230 = 248: fine
    assert.equal(parseReference(name).repository, `library/${name}`);
    const longer = 'a'.repeat(238); // 18 + 238 = 256
    assertInvalid(() => parseReference(longer), longer);
  });
});

describe('parseReference: malformed references', () => {
  const bad: Array<[string, string]> = [
    ['', 'empty'],
    [' ', 'a space'],
    ['nginx ', 'trailing space'],
    [' nginx', 'leading space'],
    ['nginx latest', 'space inside'],
    ['nginx\n', 'newline'],
    ['nginx:', 'empty tag'],
    [':tag', 'tag without a name'],
    [':', 'a lone colon'],
    ['@' + DIGEST, 'digest without a name'],
    ['Nginx', 'uppercase repository'],
    ['user/App', 'uppercase path component'],
    ['ghcr.io/Owner/app', 'uppercase component after a registry'],
    ['nginx@sha256:abc', 'short digest'],
    [`nginx@sha256:${'A1'.repeat(32)}`, 'uppercase digest'],
    [`nginx@sha256:${'a'.repeat(65)}`, 'digest too long'],
    [`nginx@md5:${'a'.repeat(32)}`, 'unknown digest algorithm'],
    ['nginx@', 'empty digest'],
    [`nginx@${DIGEST}@${DIGEST}`, 'two digests'],
    ['nginx:1:2', 'two tags'],
    ['nginx:-tag', 'tag starting with a dash'],
    ['nginx:.tag', 'tag starting with a dot'],
    ['nginx:ta/g', 'slash in a tag'],
    ['/nginx', 'leading slash'],
    ['nginx/', 'trailing slash'],
    ['a//b', 'empty component'],
    ['a/-b', 'component starting with a separator'],
    ['a/b-', 'component ending with a separator'],
    ['a..b', 'double dot'],
    ['a___b', 'triple underscore'],
    ['a/b:c/d', 'colon inside the path'],
    ['ghcr.io/', 'registry without repository'],
    ['registry:99999/x', 'port out of range'],
    ['registry:0/x', 'port zero'],
    ['reg_istry.io/x', 'underscore in a host name'],
    ['-registry.io/x', 'host starting with a dash'],
    ['https://ghcr.io/o/app', 'a URL'],
    ['ngïnx', 'non-ASCII'],
    ['x'.repeat(600), 'absurdly long'],
  ];
  for (const [input, why] of bad) {
    it(`refuses ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)} (${why})`, () => {
      assertInvalid(() => parseReference(input), input);
    });
  }

  it('says what is wrong', () => {
    assert.throws(() => parseReference('nginx:'), /invalid image reference "nginx:": the tag after ":" is empty/);
    assert.throws(() => parseReference('user/App'), /repository component "App"/);
  });
});

describe('parseReference: properties', () => {
  it('any string either parses or throws InvalidImageReference, never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[a-zA-Z0-9._:@/\-[\]]{0,40}$/)), (input) => {
        try {
          parseReference(input);
        } catch (err) {
          assert.ok(err instanceof InvalidImageReference);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a canonical reference parses to itself', () => {
    const component = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+){0,2}$/).filter((c) => c.length <= 30);
    const reference = fc
      .record({
        registry: fc.constantFrom('', 'ghcr.io/', 'localhost:5000/', '127.0.0.1:5000/', 'docker.io/'),
        path: fc.array(component, { minLength: 1, maxLength: 3 }),
        tag: fc.option(fc.stringMatching(/^\w[\w.-]{0,20}$/), { nil: undefined }),
        digest: fc.option(fc.stringMatching(/^[a-f0-9]{64}$/), { nil: undefined }),
      })
      // Without a registry, a first component with a dot would be read as a host.
      .filter(({ registry, path }) => registry !== '' || !path[0]!.includes('.'))
      .map(({ registry, path, tag, digest }) => `${registry}${path.join('/')}${tag ? `:${tag}` : ''}${digest ? `@sha256:${digest}` : ''}`);
    fc.assert(
      fc.property(reference, (input) => {
        const parsed = parseReference(input);
        assert.deepEqual(parseReference(parsed.canonical), parsed);
      }),
      { numRuns: 500 },
    );
  });
});

describe('referenceFromImageAndTag (the seed query ?image=…&tag=…)', () => {
  it('joins a Docker Hub image and its tag', () => {
    assert.deepEqual(
      { ...referenceFromImageAndTag('nginx', 'stable') },
      { registry: 'docker.io', repository: 'library/nginx', tag: 'stable', canonical: 'docker.io/library/nginx:stable' },
    );
  });
  it('keeps a registry port apart from the tag', () => {
    const ref = referenceFromImageAndTag('localhost:5000/team/app', 'dev');
    assert.equal(ref.registry, 'localhost:5000');
    assert.equal(ref.repository, 'team/app');
    assert.equal(ref.tag, 'dev');
    assert.equal(ref.canonical, 'localhost:5000/team/app:dev');
  });
  it('agrees with parseReference on the joined form', () => {
    assert.deepEqual(referenceFromImageAndTag('ghcr.io/o/app', 'v1'), parseReference('ghcr.io/o/app:v1'));
  });

  const bad: Array<[string, string, string]> = [
    ['', 'stable', 'empty image'],
    ['nginx', '', 'empty tag'],
    ['', '', 'both empty'],
    ['nginx:1.27', 'stable', 'image with its own tag'],
    [`nginx@${DIGEST}`, 'stable', 'image with a digest'],
    ['nginx', 'bad tag', 'space in the tag'],
    ['nginx', ':x', 'colon in the tag'],
    ['nginx', '-x', 'tag starting with a dash'],
    ['nginx', `@${DIGEST}`, 'digest passed as the tag'],
    ['Nginx', 'stable', 'uppercase image'],
    ['nginx', 'x'.repeat(129), 'tag too long'],
  ];
  for (const [image, tag, why] of bad) {
    it(`refuses image=${JSON.stringify(image)} tag=${JSON.stringify(tag.length > 20 ? `${tag.slice(0, 20)}…` : tag)} (${why})`, () => {
      assert.throws(() => referenceFromImageAndTag(image, tag), InvalidImageReference);
    });
  }
});
