// The command line's usage and each command's --help.

import { NGRAM_MAX_ORDER } from '../engine/ngram';
import { EXPLAIN_PRINTED_UNITS } from './explainReport';
import { INSPECT_PRINTED_POSITIONS, INSPECT_TRACE_POSITIONS } from './inspectReport';
import { trainHelpLines } from './trainOptions';

/** Every command, in the order the usage lists them. */
export const COMMANDS = ['train', 'generate', 'inspect', 'units', 'explain', 'grad', 'bench', 'baseline', 'export', 'import'] as const;

export const USAGE = `usage: lstm-lens <command> [options]

commands:
  train FILE      train a language model on FILE and write a checkpoint
  generate CKPT   continue a text with a trained model
  inspect CKPT    shapes, predictions and the trace of the model reading a text
  units CKPT FILE which units are on across a selection, where else, and which follow the text's tracks
  explain CKPT    one step of one cell: its equations forward and backward, with the numbers
  grad CASE.json  one forward and backward pass, as JSON (for checks against PyTorch)
  bench           training and generation speed on the benchmark workload
  baseline FILE   the n-gram model an LSTM has to beat: its held-out loss, order by order
  export CKPT     the run as a folder that PyTorch continues (train.py, one GPU or many)
  import STATE    a PyTorch nn.LSTM's state_dict (safetensors) as a checkpoint

train FILE [--tokens char|word] [--hidden H] [--layers L] [--embedding E] [--seq T] [--batch B]
           [--steps N] [--lr X] [--seed S] [--out CKPT] [--json] [--holdout F]
           [--mode many-to-many|many-to-one] [--bidirectional] [--optimizer adam|sgd]
           [--clip X] [--schedule constant|cosine] [--init pytorch|constant] [--init-value X]
           [--max-vocab N] [--save-every N] [--resume [--restart-stream]] [--force] [--quiet] [--threads N]
generate CKPT [--prime TEXT] [--length N] [--temperature X] [--top-k K] [--seed S] [--with-prime|--no-prime]
              [--clamp SPEC]...
inspect CKPT --text TEXT [--top N] [--units 0,3,5|0-7] [--positions A:B] [--no-trace] [--json]
             [--attribute P] [--clamp SPEC]...
units CKPT FILE [--state h|c] [--layer K] [--direction forward|backward] [--json]
                [--select A:B --threshold X [--off-before N] [--off-after N]] [--tracks] [--top N]
                [--clamp SPEC]...
explain CKPT --text TEXT --at t [--layer K] [--direction forward|backward] [--json]
             [--clamp SPEC]...
grad CASE.json
bench [--json] [--hidden H] [--layers L] [--steps N] [--threads N] [--kernels fma|simd|js]
baseline FILE [--order N] [--tokens char|word] [--max-vocab N] [--json]
export CKPT --text FILE --out DIR [--force] [--json]
import STATE.safetensors --vocab VOCAB.json --out CKPT [--mode many_to_many|many_to_one] [--seq T] [--batch B] [--force] [--json]

lstm-lens --help (or help) prints this and exits 0; lstm-lens with no command prints it and exits 2.
lstm-lens --version prints the version.
Exit status: 0 success; 2 bad usage or bad input (one line on stderr); 1 a failure while running
(training that diverged, a save that failed).

Run 'lstm-lens <command> --help' for the details of one command.`;

export const HELP: Record<string, string> = {
  train: `lstm-lens train FILE [options]

Trains an LSTM language model on FILE and writes a checkpoint (safetensors).

${trainHelpLines()}
  --out CKPT             checkpoint path (default FILE.lstm.safetensors); never the text itself
  --force                replace a file at --out that is not an lstm-lens checkpoint
  --save-every N         also save every N steps (default 100)
  --resume               continue the run saved at --out, to --steps in total, with its own
                         settings (only --steps and --lr can change)
  --restart-stream       with --resume, on a text shorter than the one trained on: read it
                         from its start again (the carried state zeroed; weights, optimizer and
                         step kept)
  --json                 end stdout with one JSON line: steps, loss, tokens_per_s, checkpoint
                         (and, when training diverged, diverged: true and what happened)
  --quiet                no progress

At the end: the loss on the held-out part (or the last tenth), the uniform guess ln V to compare
it with, and the epochs seen (tokens read / tokens trained on).
Ctrl-C, SIGTERM and SIGHUP save the run and stop it. Training that diverges exits with status 1,
keeping the weights from before the step that broke them (the last step's update included).`,
  generate: `lstm-lens generate CKPT [options]

Prints the continuation of the prime text, token by token. On a terminal the prime is printed
first, dimmed (plain where NO_COLOR is set), so the continuation reads in its context; into a
pipe or a file only the continuation is written, unless --with-prime.

  --prime TEXT           the cue the model reads first (default: none)
  --with-prime           print the prime before the continuation, on a terminal or not
  --no-prime             print only the continuation, on a terminal too
  --length N             tokens to generate (default 200)
  --temperature X        0 is greedy; higher is more adventurous (default 0.8)
  --top-k K              sample among the K most likely tokens; 0 for all (default 0)
  --seed S               same seed, same output (default 0)
  --clamp SPEC           hold a unit at a constant while the model reads: h:K:U=V or c:K:U=V
                         (state, layer, unit, value; forward direction; repeatable)`,
  inspect: `lstm-lens inspect CKPT --text TEXT [options]

The model reads TEXT as one sequence (batch 1), predicting each next token. Prints the model, the
tokens by position, the shape of every tensor, the top predictions at each position with the
actual next token's probability, and the trace: the gates i, f, g, o, the states c, h and the
gradients dL/dh, dL/dc of every layer and direction, one row per step, one column per unit.

  --top N                predictions shown at each position (default 5)
  --positions A:B        the positions [A, B) to show (default: the first ${INSPECT_PRINTED_POSITIONS} predictions,
                         the first ${INSPECT_TRACE_POSITIONS} steps of the trace); A: or :B leave one end open
  --units LIST           the units of the trace, by index from 0: 0,3,5 or 0-7 or 0-3,9
                         (default: the first ones that fit the width)
  --no-trace             leave the trace out (and skip the backward pass)
  --json                 one JSON object with every position (tokens, ids, logits, loss, token_loss,
                         shapes, top, trace); --positions, --units and --no-trace shape only the text
  --attribute P          which tokens drive the prediction at position P (of token P+1): at every
                         position k, |d log p / d x_k| (x_k token k's one-hot or embedding row) and
                         gradient × input; the strongest listed, all in --json's "attribution"
  --clamp SPEC           hold a unit at a constant while the model reads: h:K:U=V or c:K:U=V
                         (state, layer, unit, value; forward direction; repeatable); the trace
                         shows the clamped values, and no gradient flows through them

Lines keep to the terminal's width (COLUMNS, or 100 when not a terminal).`,
  baseline: `lstm-lens baseline FILE [options]

The n-gram model an LSTM trained on FILE has to beat: interpolated Kneser–Ney smoothing (one
discount per order, n1 / (n1 + 2 n2)) over the same tokens, fitted on the first 90% of the text
(decoded as train reads it) and measured on the last 10%, read from its own start as the LSTM's
held-out loss is. Prints the held-out loss of every order 1..N in nats per token.

  --order N              the highest order, 1 to ${NGRAM_MAX_ORDER} (default ${NGRAM_MAX_ORDER})
  --tokens char|word     the tokens, as train's (default char)
  --max-vocab N          keep the N-1 most frequent tokens and <unk>, as train's
  --json                 one JSON object: tokens, train_tokens, heldout_tokens,
                         orders [{order, loss}]`,
  export: `lstm-lens export CKPT --text FILE --out DIR [options]

Writes DIR/train.py, DIR/model.safetensors (the checkpoint), DIR/tokens.bin (the text's token ids),
DIR/text.txt (the text as decoded) and DIR/README.md. \`python3 DIR/train.py --steps N\` continues
the run in PyTorch (nothing else needed) with the same batches, optimizer state, clipping and
schedule, printing {"step": s, "loss": x} per step, and writes a checkpoint every lstm-lens command
opens; \`torchrun --nproc_per_node P DIR/train.py --steps N\` runs it data parallel (README.md).

  --text FILE            the text the run trains on (as for train --resume: the same vocabulary,
                         long enough for the streams where they stand)
  --out DIR              the folder to write (made when missing; refused when not empty)
  --force                write into a folder that is not empty
  --json                 one JSON line on stdout: dir, files, step, steps, tokens, batch_size`,
  import: `lstm-lens import STATE.safetensors --vocab VOCAB.json --out CKPT [options]

A PyTorch model's state_dict with the names of nn.LSTM as "lstm", nn.Linear as "head" and
nn.Embedding as "embedding" (absent: one-hot input), saved as safetensors, and its vocabulary
({"kind": "char" | "word", "tokens": [...]}, a token's id its index) become a checkpoint at step 0
without optimizer state: sizes, layers, directions and the embedding are read from the shapes.
Anything else (a GRU, a missing head, a shape that disagrees) is refused naming the tensor.
F64, F16 and BF16 tensors are converted to float32. train --resume continues it from fresh Adam
moments and the default settings of train but --seq and --batch (--steps and --lr can change).

  --vocab VOCAB.json     the vocabulary (required)
  --out CKPT             the checkpoint to write (required)
  --mode M               many_to_many (default) or many_to_one (default when bidirectional)
  --seq T                tokens per sequence when it is trained further (default 64 char, 16 word)
  --batch B              sequences per step when it is trained further (default 32; a many-to-many
                         run needs a text of at least 4·B·T tokens)
  --force                replace a file at --out that is not an lstm-lens checkpoint
  --json                 one JSON line on stdout: checkpoint, config, converted`,
  explain: `lstm-lens explain CKPT --text TEXT --at t [options]

The model reads TEXT as inspect does (one sequence, batch 1, from a zero state, each position
predicting the next) and shows step t (the token at position t, from 0) of one cell: the forward
equations with their numbers (z = W_ih·x + W_hh·h_prev + b for each gate, i, f, g, o, c, h), then
the backward ones (dh from above and from the next step, dc through h and from the next step, the
gate gradients, dz, and what the step sends back: dc_prev, dh_prev, dx). One column per unit; the
first ${EXPLAIN_PRINTED_UNITS} units when there are more.

  --at t                 the step to explain (required)
  --layer K              the layer, from 0 (default 0)
  --direction D          forward or backward (backward: bidirectional models; default forward)
  --json                 one JSON object: token, t, layer, direction, forward, backward, every
                         vector whole
  --clamp SPEC           hold a unit at a constant while the model reads: h:K:U=V or c:K:U=V
                         (state, layer, unit, value; forward direction; repeatable); on any
                         layer (the step shows the clamped values; no gradient goes on from them)`,
  units: `lstm-lens units CKPT FILE [options]

The model reads FILE (decoded as train reads it) as one sequence from a zero state; s_t[u] is the
chosen state of unit u after token t. Each token has its character span [start, end) in the
text, in UTF-16 code units (an editor's offsets).

  --state h|c            the state (default h)
  --layer K              the layer, from 0 (default 0)
  --direction D          forward or backward (bidirectional models; default forward)
  --select A:B           token positions [A, B): the units with s_t[u] >= X at every t there are
                         selected; a match is every maximal run where all of them are >= X
                         (the run around the selection is one); longest first, then by start
  --threshold X          X (required with --select)
  --off-before N         the selected units must also be < X at the N positions before the
                         selection, and a match at the N positions before it (those that exist)
  --off-after N          likewise for the N positions after
  --tracks               the text's tracks (column, indent, bracket_depth, in_quotes, in_word; a
                         token's value is its last character's) and, for each, the units whose
                         state follows it most closely (largest |Pearson r| over all tokens)
  --top N                matches listed (default 50), units per track (default 5)
  --json                 one JSON object: state, layer, direction, tokens, select, threshold, units,
                         matches [{start, end, chars, text}], match_count, tracks
  --clamp SPEC           hold a unit at a constant while the model reads: h:K:U=V or c:K:U=V
                         (state, layer, unit, value; forward direction; repeatable)

The states of the chosen layer are kept for the whole text: exactly (float32) up to 64 MiB, else
one byte per value (a scale per unit and block of 512 tokens); at most 2^28 values.`,
  grad: `lstm-lens grad CASE.json

One forward and backward pass of the case (config, tokens, targets, weights, optional h0/c0) in
float32, printed as JSON: loss, logits, output, h_n, c_n, every gradient and the trace.`,
};
