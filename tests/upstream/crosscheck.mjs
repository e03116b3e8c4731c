// Cross-check of our token formats against the upstream enmeshed libraries (@nmshd/core-types, @nmshd/crypto).
//
// Reads a JSON array of cases on stdin and writes a JSON array of results (same order) on stdout.
// Every field of a case is optional:
//
//   {
//     "name": "…",                     // echoed back
//     "truncated": "<truncated ref>",  // -> result.fromTruncated: the fields upstream's Reference.from() reads
//     "url": "<URL ref>",              // -> result.fromUrl
//     "cipher": "<base64url CryptoCipher JSON>",
//                                      // -> result.decrypted (base64url), decrypted with the key of the parsed
//                                      //    URL reference (else the truncated one); result.cipherReserialized
//     "password": "…",                 // -> result.passwordHash (base64), Argon2id as the runtime derives it, over
//     "salt": "<base64>",              //    this salt, else the salt of the parsed URL (else truncated) reference
//     "build": {                       // -> result.built: what upstream itself writes for these fields
//       "id": "TOK…", "backboneBaseUrl": "https://…" | null, "key": "<base64url>",
//       "forIdentityTruncated": "abcd" | null,
//       "passwordProtection": {"passwordType": "pw", "salt": "<base64>", "passwordLocationIndicator": 4 | null} | null,
//       "appId": "…" | null,            // also build toUrl(appId)
//       "plaintext": "<base64url>"      // encrypt with CryptoEncryption.encrypt under the key
//     }
//   }
//
// Each result field is either the value or {"error": "<message>"}; a failure in one case never aborts the others.
// The Argon2id parameters are those of the runtime's CoreCrypto.deriveHashOutOfPassword (transport package):
// CryptoDerivation.deriveKeyFromPassword(utf8(password), salt, XCHACHA20_POLY1305, ARGON2ID, 3, 20 MiB).

import coreTypes from "@nmshd/core-types";
import nmshdCrypto from "@nmshd/crypto";

const { CoreId, Reference, SharedPasswordProtection } = coreTypes;
const { CoreBuffer, CryptoCipher, CryptoDerivation, CryptoEncryption, CryptoSecretKey, SodiumWrapper } = nmshdCrypto;

const XCHACHA20_POLY1305 = 3; // CryptoEncryptionAlgorithm.XCHACHA20_POLY1305 (a const enum, not exported at runtime)
const ARGON2ID = "argon2id"; // CryptoDerivationAlgorithm.ARGON2ID
const OPSLIMIT = 3;
const MEMLIMIT = 20 * 1024 * 1024;

function errorOf(e) {
    return { error: `${e?.constructor?.name ?? "Error"}: ${e?.message ?? String(e)}` };
}

async function attempt(fn) {
    try {
        return await fn();
    } catch (e) {
        return errorOf(e);
    }
}

function describe(reference) {
    const pp = reference.passwordProtection;
    return {
        id: reference.id.toString(),
        backboneBaseUrl: reference.backboneBaseUrl ?? null,
        algorithm: reference.key.algorithm,
        key: reference.key.secretKey.toBase64URL(),
        forIdentityTruncated: reference.forIdentityTruncated ?? null,
        passwordProtection: pp
            ? {
                  passwordType: pp.passwordType,
                  salt: pp.salt.toBase64(),
                  passwordLocationIndicator: pp.passwordLocationIndicator ?? null,
                  password: pp.password ?? null
              }
            : null
    };
}

async function passwordHash(password, salt) {
    const derived = await CryptoDerivation.deriveKeyFromPassword(
        CoreBuffer.fromUtf8(password),
        salt,
        XCHACHA20_POLY1305,
        ARGON2ID,
        OPSLIMIT,
        MEMLIMIT
    );
    return derived.secretKey.toBase64();
}

function buildReference(spec) {
    const pp = spec.passwordProtection;
    return Reference.from({
        id: CoreId.from(spec.id),
        backboneBaseUrl: spec.backboneBaseUrl ?? undefined,
        key: CryptoSecretKey.from({ algorithm: XCHACHA20_POLY1305, secretKey: CoreBuffer.fromBase64URL(spec.key) }),
        forIdentityTruncated: spec.forIdentityTruncated ?? undefined,
        passwordProtection: pp
            ? SharedPasswordProtection.from({
                  passwordType: pp.passwordType,
                  salt: CoreBuffer.fromBase64(pp.salt),
                  passwordLocationIndicator: pp.passwordLocationIndicator ?? undefined
              })
            : undefined
    });
}

async function runCase(input) {
    const result = { name: input.name ?? null };
    let fromTruncated;
    let fromUrl;
    if (typeof input.truncated === "string") {
        try {
            fromTruncated = Reference.from(input.truncated);
            result.fromTruncated = describe(fromTruncated);
        } catch (e) {
            result.fromTruncated = errorOf(e);
        }
    }
    if (typeof input.url === "string") {
        try {
            fromUrl = Reference.from(input.url);
            result.fromUrl = describe(fromUrl);
        } catch (e) {
            result.fromUrl = errorOf(e);
        }
    }
    const parsed = fromUrl ?? fromTruncated;
    if (typeof input.cipher === "string") {
        result.decrypted = await attempt(async () => {
            if (!parsed) throw new Error("no parsed reference to take the key from");
            const plaintext = await CryptoEncryption.decrypt(CryptoCipher.fromBase64(input.cipher), parsed.key);
            return plaintext.toBase64URL();
        });
        result.cipherReserialized = await attempt(() => CryptoCipher.fromBase64(input.cipher).toBase64());
    }
    if (typeof input.password === "string") {
        result.passwordHash = await attempt(async () => {
            let salt;
            if (typeof input.salt === "string") salt = CoreBuffer.fromBase64(input.salt);
            else if (parsed?.passwordProtection) salt = parsed.passwordProtection.salt;
            else throw new Error("no salt given and no password protection in the parsed reference");
            return await passwordHash(input.password, salt);
        });
    }
    if (input.build) {
        result.built = await attempt(async () => {
            const spec = input.build;
            const reference = buildReference(spec);
            const built = { truncated: reference.truncate() };
            if (spec.backboneBaseUrl) {
                built.url = reference.toUrl();
                if (spec.appId) built.urlWithApp = reference.toUrl(spec.appId);
            }
            if (typeof spec.plaintext === "string") {
                const cipher = await CryptoEncryption.encrypt(CoreBuffer.fromBase64URL(spec.plaintext), reference.key);
                built.cipher = cipher.toBase64();
            }
            return built;
        });
    }
    return result;
}

async function readStdin() {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    return Buffer.concat(chunks).toString("utf8");
}

await SodiumWrapper.ready();
const cases = JSON.parse(await readStdin());
if (!Array.isArray(cases)) throw new Error("stdin must hold a JSON array of cases");
const results = [];
for (const input of cases) results.push(await runCase(input));
process.stdout.write(JSON.stringify(results));
