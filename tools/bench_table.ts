/**
 * `deno task bench:table [--check]`: write the README's benchmark table from the records in
 * `bench/results/` (rows and formats: `bench/table.ts`), between its marker comments, and format the README.
 * `--check` writes nothing and fails (exit 1) when the README's table differs from what the records give.
 * Ends with ONE JSON line: `{"rows", "recorded", "missing": [record files], "changed"}`.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { type Command, startCommand } from "@vlp/command";
import { writeTextAtomic } from "@vlp/io";
import { RESULTS_DIR } from "../bench/record.ts";
import {
  generatedBlock,
  type GeneratedTable,
  generateTable,
  TABLE_END,
  TABLE_START,
  tableRows,
} from "../bench/table.ts";

const README = fileURLToPath(new URL("../README.md", import.meta.url));

/** Every record file of bench/results/, parsed. */
export async function readRecords(dir = RESULTS_DIR): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile && e.name.endsWith(".json")) names.push(e.name);
  for (const name of names.sort()) {
    const path = join(dir, name);
    try {
      out.set(name, JSON.parse(await Deno.readTextFile(path)));
    } catch (e) {
      throw new SyntaxError(`Cannot read bench record "${path}": ${(e as Error).message}`);
    }
  }
  return out;
}

/** The prose of a block (its non-table lines), whitespace-normalised. */
function prose(block: string): string {
  return block.split("\n").filter((l) => !l.startsWith("|")).join(" ").replace(/\s+/g, " ").trim();
}

/** Whether the README's block holds the generated table (cells and prose, formatting aside). */
export function readmeMatches(readme: string, gen: GeneratedTable): boolean {
  const block = generatedBlock(readme);
  return JSON.stringify(tableRows(block)) === JSON.stringify(gen.rows) &&
    prose(block) === prose(gen.markdown);
}

const Flags = z.object({ check: z.boolean().default(false) });
const CMD: Command<z.infer<typeof Flags>> = {
  name: "bench:table",
  usage: `Usage: deno task bench:table [--check]
Writes the README's benchmark table from the records in bench/results/ (see bench/table.ts).
  --check  write nothing; exit 1 when the README's table differs from what the records give
  --help   show this text`,
  flags: Flags,
};

async function main({ check }: z.infer<typeof Flags>): Promise<number> {
  const readme = await Deno.readTextFile(README);
  const records = await readRecords();
  const gen = generateTable(records, readme);
  const changed = !readmeMatches(readme, gen);
  if (gen.missing.length) console.error(`no record yet: ${gen.missing.join(", ")} (rows kept as they are)`);
  if (changed && !check) {
    const a = readme.indexOf(TABLE_START) + TABLE_START.length, b = readme.indexOf(TABLE_END);
    await writeTextAtomic(README, `${readme.slice(0, a)}\n\n${gen.markdown}\n\n${readme.slice(b)}`);
    const fmt = await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", README], stdout: "null" })
      .output();
    if (!fmt.success) throw new Error(`Cannot format "${README}": deno fmt failed`);
    console.error("README.md: benchmark table written");
  } else if (changed) {
    console.error("README.md: the benchmark table differs from the records (run `deno task bench:table`)");
  }
  console.log(
    JSON.stringify({ rows: gen.rows.length, recorded: records.size, missing: gen.missing, changed }),
  );
  return check && changed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(startCommand(CMD)));
