<?php
// xmpp_send.php - a PHP peer of the C bot: XMPP by hand over a plain TCP
// socket, no library.  It logs in (SASL PLAIN), binds a resource, sends
// one message to the bot and prints the first message that comes back.
//
// Run:   php xmpp_send.php PORT USER PASSWORD TO TEXT
//        php xmpp_send.php "$port" alice alice-pw bot@localhost/echo "hello from PHP"
// You should see:
//        reply from bot@localhost/echo: echo: hello from PHP
//
// What it shows: an XMPP stream is XML written piece by piece on a socket.
// Each step waits for one element from the server, within a deadline.
// SASL PLAIN sends the password only base64-encoded: fine on loopback to
// a private server, never over a network without TLS.

if ($argc != 6) {
    fwrite(STDERR, "usage: php xmpp_send.php PORT USER PASSWORD TO TEXT\n");
    exit(2);
}
[, $port, $user, $password, $to, $text] = $argv;
$domain = 'localhost';
$deadline = microtime(true) + 5.0;

function fail(string $why): void
{
    fwrite(STDERR, "xmpp_send.php: $why\n");
    exit(1);
}

$sock = @stream_socket_client("tcp://127.0.0.1:$port", $errno, $errstr, 5.0);
if ($sock === false) {
    fail("cannot reach the server on port $port: $errstr");
}
$buffer = '';

// Reads until $pattern matches the text received so far; returns the
// match and drops everything up to its end.
function expect($sock, string &$buffer, string $pattern, float $deadline): array
{
    while (!preg_match($pattern, $buffer, $m, PREG_OFFSET_CAPTURE)) {
        $left = $deadline - microtime(true);
        if ($left <= 0) {
            fail("no answer from the server in time (waiting for $pattern)");
        }
        $r = [$sock];
        $w = $e = null;
        if (stream_select($r, $w, $e, 0, (int)($left * 1e6)) > 0) {
            $chunk = fread($sock, 65536);
            if ($chunk === '' || $chunk === false) {
                fail("the server closed the connection");
            }
            $buffer .= $chunk;
        }
    }
    $buffer = substr($buffer, $m[0][1] + strlen($m[0][0]));
    return array_map(fn($g) => $g[0], $m);
}

function open_stream($sock, string $domain): void
{
    fwrite($sock, "<?xml version='1.0'?><stream:stream to='$domain' version='1.0' " .
        "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
}

// 1. The stream, and its features: the SASL mechanisms on offer.
open_stream($sock, $domain);
$features = expect($sock, $buffer, '#<(stream:)?features.*?</(stream:)?features>#s', $deadline);
if (strpos($features[0], '<mechanism>PLAIN</mechanism>') === false) {
    fail("the server does not offer SASL PLAIN");
}

// 2. SASL PLAIN: "\0user\0password", base64.
$auth = base64_encode("\0$user\0$password");
fwrite($sock, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>$auth</auth>");
$result = expect($sock, $buffer, '#<(success|failure)\b.*?(/>|</\1>)#s', $deadline);
if ($result[1] === 'failure') {
    fail("the server refused the login (wrong password or unknown user)");
}

// 3. A new stream after SASL, then bind a resource.
open_stream($sock, $domain);
expect($sock, $buffer, '#<(stream:)?features.*?</(stream:)?features>#s', $deadline);
fwrite($sock, "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>" .
    "<resource>php</resource></bind></iq>");
expect($sock, $buffer, "#<iq[^>]*id=['\"]bind1['\"][^>]*type=['\"]result['\"]|" .
    "<iq[^>]*type=['\"]result['\"][^>]*id=['\"]bind1['\"]#", $deadline);

// 4. The message, with an id the bot's reply keeps.
$body = htmlspecialchars($text, ENT_XML1 | ENT_QUOTES);
fwrite($sock, "<message type='chat' to='" . htmlspecialchars($to, ENT_XML1 | ENT_QUOTES) .
    "' id='php1'><body>$body</body></message>");

// 5. The first message back that has a body.
$reply = expect($sock, $buffer, '#<message\b([^>]*)>.*?<body>(.*?)</body>.*?</message>#s', $deadline);
preg_match("#from=['\"]([^'\"]*)['\"]#", $reply[1], $from);
echo "reply from " . ($from[1] ?? '?') . ": " . html_entity_decode($reply[2], ENT_XML1 | ENT_QUOTES) . "\n";

// 6. Close our side and wait for the server to close its own.
fwrite($sock, "</stream:stream>");
expect($sock, $buffer, '#</stream:stream>#', $deadline);
fclose($sock);
