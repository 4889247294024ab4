// peer.js: mailparser (npm) as a benchmark peer of mimeutf8, in one process over a corpus, as an
// ingestion service would use it: each message parsed and its text decoded to UTF-8 (subject,
// addresses, text and HTML bodies, attachments' names), written to OUTDIR/NAME.json.
//   node bench/mailparser/peer.js CORPUS OUTDIR
// CORPUS is a gen.py corpus (key.jsonl names the files, in order) or a directory of messages.
'use strict';
const fs = require ('fs');
const path = require ('path');
const { simpleParser } = require ('mailparser');

async function main ()
{
	const [corpus, out] = process.argv.slice(2);
	if (!corpus || !out) {
		console.error('usage: node peer.js CORPUS OUTDIR');
		process.exit(64);
	}
	fs.mkdirSync(out, { recursive : true });
	const key = path.join(corpus, 'key.jsonl');
	const files = fs.existsSync(key) ? fs.readFileSync(key, 'utf8')
						   .split('\n')
						   .filter(Boolean)
						   .map((l) => JSON.parse(l).file)
					 : fs.readdirSync(corpus).sort();
	for (const file of files) {
		const parsed = await simpleParser (fs.readFileSync(path.join(corpus, file)));
		const view = {
			subject : parsed.subject,
			from : parsed.from && parsed.from.value,
			to : parsed.to && parsed.to.value,
			text : parsed.text,
			html : parsed.html,
			attachments : (parsed.attachments || []).map((a) => [a.filename, a.size]),
		};
		fs.writeFileSync(path.join(out, path.basename(file) + '.json'),
				 JSON.stringify(view));
	}
}

main ().catch((e) => {
	console.error(e);
	process.exit(1);
});
