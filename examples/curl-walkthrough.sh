#!/usr/bin/env bash
# The VNTANA auth flow and a webhook's whole life, by hand with curl, against the emulator:
#   vntana-webhooks emulator &        # prints the export lines below
#   API=http://127.0.0.1:8787 KEY=vntana-emulator-demo-key examples/curl-walkthrough.sh
# Every answer is the envelope {"success", "errors", "response"}; tokens come back only in
# the x-auth-token response header.
set -euo pipefail
API=${API:-${VNTANA_API_URL:-http://127.0.0.1:8787}}
KEY=${KEY:-${VNTANA_API_KEY:-vntana-emulator-demo-key}}
ORG_SLUG=${ORG_SLUG:-acme-3d}

token_from() { tr -d '\r' | awk -F': ' 'tolower($1)=="x-auth-token"{print $2}'; }
uuid_after() { grep -o "\"uuid\":\"[^\"]*\",\"$1\"" | head -n1 | cut -d'"' -f4; }

echo "1. sign in with the API key (personal access token)"
LOGIN=$(curl -sfi -X POST "$API/v1/auth/login/token" -H 'content-type: application/json' \
  -d "{\"personal-access-token\":\"$KEY\"}" | token_from)

echo "2. list organizations and pick $ORG_SLUG"
ORG=$(curl -sf "$API/v1/organizations" -H "X-AUTH-TOKEN: Bearer $LOGIN" \
  | grep -o "\"uuid\":\"[^\"]*\",\"slug\":\"$ORG_SLUG\"" | cut -d'"' -f4)
echo "   organization uuid: $ORG"

echo "3. mint the organization token (revokes this user's previous one)"
TOKEN=$(curl -sfi -X POST "$API/v1/auth/refresh-token" -H "X-AUTH-TOKEN: Bearer $LOGIN" \
  -H "organizationUuid: $ORG" | token_from)

echo "4. read the event catalogue and find product.added"
EVENT=$(curl -sf "$API/v1/webhooks/events" -H "X-AUTH-TOKEN: Bearer $TOKEN" \
  | grep -o '"uuid":"[^"]*","name":"product.added"' | cut -d'"' -f4)

echo "5. create a webhook"
BODY="{\"name\":\"curl-demo\",\"url\":\"https://example.com/hook\",\"description\":\"\",\"disable\":false,
  \"userEmail\":\"owner@acme.example\",\"organizationUuid\":\"$ORG\",\"clients\":[],
  \"events\":[{\"uuid\":\"$EVENT\",\"name\":\"product.added\"}]}"
HOOK=$(curl -sf -X POST "$API/v1/webhooks" -H "X-AUTH-TOKEN: Bearer $TOKEN" \
  -H 'content-type: application/json' -d "$BODY" | grep -o '"response":{"uuid":"[^"]*"' | cut -d'"' -f6)
echo "   webhook uuid: $HOOK"

echo "6. read it back, update it, rotate its secret, list, delete"
curl -sf "$API/v1/webhooks/$HOOK" -H "X-AUTH-TOKEN: Bearer $TOKEN" >/dev/null
curl -sf -X PUT "$API/v1/webhooks/$HOOK" -H "X-AUTH-TOKEN: Bearer $TOKEN" \
  -H 'content-type: application/json' -d "${BODY/curl-demo/curl-demo-renamed}" | grep -q '"name":"curl-demo-renamed"'
curl -sf -X PATCH "$API/v1/webhooks/$HOOK/secret" -H "X-AUTH-TOKEN: Bearer $TOKEN" >/dev/null
curl -sf "$API/v1/webhooks/organization/$ORG" -H "X-AUTH-TOKEN: Bearer $TOKEN" | grep -q "\"uuid\":\"$HOOK\""
curl -sf -X DELETE "$API/v1/webhooks/$HOOK" -H "X-AUTH-TOKEN: Bearer $TOKEN" >/dev/null
STATUS=$(curl -s -o /dev/null -w '%{http_code}' "$API/v1/webhooks/$HOOK" -H "X-AUTH-TOKEN: Bearer $TOKEN")
echo "   after delete, GET answers $STATUS"
[ "$STATUS" = 404 ]
echo "done"
