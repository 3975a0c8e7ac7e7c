// Drives the unmodified @azure/msal-node for compat/test_msal_node.py, and the unmodified
// @azure/identity (ManagedIdentityCredential) for compat/test_workload_identities.py.
//
// Reads one JSON request on stdin, runs the flow it names with msal-node's public API only,
// and writes one JSON answer on stdout: for each acquisition the token response MSAL returned
// (access token, ID token claims, account, whether it came from MSAL's cache) or the error MSAL
// raised (its errorCode, subError and errorMessage). The Python test verifies the tokens.
// TLS trust comes from NODE_EXTRA_CA_CERTS, which the test points at the server's CA.
//
// Request: {"flow": "client_credentials" | "username_password", "authority", "knownAuthorities",
//           "clientId", "clientSecret"?, "certificate"? {"thumbprintSha256", "privateKey", "x5c"},
//           "scopes", "username"?, "password"?, "repeat"? (acquire again: from the cache),
//           "refresh"? (username_password: acquireTokenSilent with forceRefresh, twice)}
//          {"flow": "managed_identity", "scopes", "clientId"? (a user-assigned identity)}: the
//           credential finds the endpoint in its environment (IDENTITY_ENDPOINT/IDENTITY_HEADER
//           or AZURE_POD_IDENTITY_AUTHORITY_HOST), as in an App Service or on a VM.

import { ManagedIdentityCredential } from "@azure/identity";
import { ConfidentialClientApplication, PublicClientApplication } from "@azure/msal-node";

async function readStdin() {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function result(r) {
    if (!r) return { error: { errorCode: "null_result", errorMessage: "MSAL returned no result" } };
    return {
        accessToken: r.accessToken,
        idToken: r.idToken || null,
        idTokenClaims: r.idTokenClaims || null,
        tenantId: r.tenantId,
        scopes: r.scopes,
        tokenType: r.tokenType,
        expiresOn: r.expiresOn ? r.expiresOn.toISOString() : null,
        fromCache: r.fromCache,
        account: r.account
            ? { homeAccountId: r.account.homeAccountId, username: r.account.username, tenantId: r.account.tenantId }
            : null,
    };
}

function failure(e) {
    return {
        error: {
            errorCode: e.errorCode || e.name || "unknown",
            subError: e.subError || "",
            errorMessage: e.errorMessage || e.message || String(e),
        },
    };
}

async function attempt(fn) {
    try {
        return result(await fn());
    } catch (e) {
        return failure(e);
    }
}

async function main() {
    const req = await readStdin();
    const auth = { clientId: req.clientId, authority: req.authority, knownAuthorities: req.knownAuthorities };
    const out = { results: [] };
    if (req.flow === "client_credentials") {
        if (req.certificate) auth.clientCertificate = req.certificate;
        else auth.clientSecret = req.clientSecret;
        const app = new ConfidentialClientApplication({ auth });
        const times = req.repeat ? 2 : 1;
        for (let i = 0; i < times; i++) {
            out.results.push(await attempt(() => app.acquireTokenByClientCredential({ scopes: req.scopes })));
        }
    } else if (req.flow === "username_password") {
        const app = new PublicClientApplication({ auth });
        const first = await attempt(() =>
            app.acquireTokenByUsernamePassword({ scopes: req.scopes, username: req.username, password: req.password }),
        );
        out.results.push(first);
        if (req.refresh && !first.error) {
            const accounts = await app.getTokenCache().getAllAccounts();
            out.accounts = accounts.map((a) => ({ homeAccountId: a.homeAccountId, username: a.username }));
            for (let i = 0; i < 2 && accounts.length > 0; i++) {
                out.results.push(
                    await attempt(() =>
                        app.acquireTokenSilent({ scopes: req.scopes, account: accounts[0], forceRefresh: true }),
                    ),
                );
            }
        }
    } else if (req.flow === "managed_identity") {
        const credential = req.clientId ? new ManagedIdentityCredential({ clientId: req.clientId }) : new ManagedIdentityCredential();
        try {
            const t = await credential.getToken(req.scopes);
            out.results.push({ accessToken: t.token, expiresOn: new Date(t.expiresOnTimestamp).toISOString() });
        } catch (e) {
            out.results.push({ error: { errorCode: e.name || "unknown", errorMessage: e.message || String(e) } });
        }
    } else {
        throw new Error(`unknown flow ${req.flow}`);
    }
    process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
    process.stderr.write(`${e.stack || e}\n`);
    process.exit(1);
});
