package attnc.cli;

import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.launch.DenseEquivalent;
import attnc.launch.KvCache;
import attnc.launch.Memory;
import attnc.launch.RaggedBatch;
import attnc.launch.RaggedBinding;
import attnc.launch.Result;
import attnc.reference.Reference;
import attnc.run.Backend;
import attnc.run.Kernel;
import attnc.tensor.Tensor;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * {@code attnc run FILE --kv-lengths ...}: one ragged launch over a paged KV cache of random data
 * (each sequence's pages shuffled through the pool, so the block table matters), timed like a
 * dense run, and every sequence compared with the reference's dense launch of that sequence.
 * The speed is the rate K and V of the sequences are read at, the measure of a decode step.
 */
final class RaggedRun {
    private final PrintWriter out, err;

    RaggedRun(PrintWriter out, PrintWriter err) {
        this.out = out;
        this.err = err;
    }

    /** The random batch the options describe: sequences of the given lengths, H, Hkv and D from --shape and --heads-kv, inputs at the longest sequence's sizes. */
    RaggedBatch batch(Pattern pattern, Map<String, Expr> params, ProblemOptions options, ServingOptions serving) {
        int[] nq = serving.queries(), nkv = serving.keys();
        int sequences = nkv.length, page = serving.pageSize(), heads = options.shape.heads(), d = options.shape.headDim();
        int kvHeads = options.kvHeads == null ? heads : options.kvHeads;
        if (kvHeads < 1 || heads % kvHeads != 0) throw new UserError("--heads-kv " + kvHeads + ": expected a divisor of H = " + heads + " (GQA/MQA)");
        long totalQ = 0, pages = 0;
        int maxPages = 0;
        for (int b = 0; b < sequences; b++) {
            totalQ += nq[b];
            int used = (int) ((nkv[b] + (long) page - 1) / page);
            pages += used;
            maxPages = Math.max(maxPages, used);
        }
        long pool = Memory.elements("a KV pool [P, page, Hkv, D]", pages, page, kvHeads, d);
        long queries = Memory.elements("q [totalQ, H, D]", totalQ, heads, d), table = Memory.elements("the block table [B, maxPages]", sequences, maxPages);
        Memory.require(4 * (2 * pool + 2 * queries + table), "q, the KV pools, the block table and the output");
        Random random = new Random(options.inputOptions.random.seed);
        List<Integer> order = new ArrayList<>();
        for (int p = 0; p < pages; p++) order.add(p);
        Collections.shuffle(order, random);
        int[] entries = new int[(int) table], starts = new int[sequences + 1];
        int next = 0;
        for (int b = 0; b < sequences; b++) {
            starts[b + 1] = Math.addExact(starts[b], nq[b]);
            for (int j = 0; j < (nkv[b] + page - 1) / page; j++) entries[b * maxPages + j] = order.get(next++);
        }
        int dv = options.valueDim();
        Tensor kPool = Tensor.random(options.dtype, new int[] {(int) pages, page, kvHeads, d}, random);
        Tensor vPool = options.latent != null ? kPool.leadingColumns(dv) : Tensor.random(options.dtype, new int[] {(int) pages, page, kvHeads, d}, random);
        KvCache cache = new KvCache(kPool, vPool, Tensor.wrap(entries, sequences, maxPages), Tensor.wrap(nkv.clone(), sequences));
        Tensor q = Tensor.random(options.dtype, new int[] {(int) totalQ, heads, d}, random);
        Map<String, Integer> sizes = new LinkedHashMap<>(Map.of("B", sequences, "H", heads, "Hkv", kvHeads, "D", d, "Dv", dv,
                "Nq", Arrays.stream(nq).max().orElse(0), "Nkv", Arrays.stream(nkv).max().orElse(0)));
        sizes.putAll(RandomInputs.symbolicSizes(pattern, options.inputOptions.random.sizes));
        Map<String, Tensor> inputs = RandomInputs.make(pattern, sizes, random, options.inputOptions.random.intBound);
        int splits = serving.splitKv == null ? RaggedBatch.AUTO_SPLITS : serving.splitKv;
        return new RaggedBatch(q, Tensor.wrap(starts, sequences + 1), cache, inputs, params, splits);
    }

    /** Times {@code kernel} on the batch and checks it unless {@code check} is false; true when within tolerance of the reference. */
    boolean run(Path file, Pattern pattern, RaggedBatch batch, Backend backend, Kernel kernel, long compileNanos, Integer warmups, int repeat, boolean check) {
        RaggedBinding binding = RaggedBinding.of(pattern, batch);
        KvCache cache = batch.cache();
        line("pattern", pattern.name() + " (" + file + ")");
        line("ragged", binding.batch() + " sequences, q lengths " + Arrays.toString(lengths(batch.queryStarts().ints()))
                + ", kv lengths " + Arrays.toString(cache.kvLengths().ints()) + ", H=" + binding.heads() + " Hkv=" + binding.kvHeads()
                + " D=" + binding.headDim() + (binding.valueDim() != binding.headDim() ? " Dv=" + binding.valueDim() : "") + ", " + batch.q().dtype());
        line("cache", binding.pages() + " pages of " + binding.pageSize() + " positions, in shuffled order; split-kv "
                + (batch.kvSplits() == RaggedBatch.AUTO_SPLITS ? "chosen by the backend" : batch.kvSplits()));
        out.flush();
        Result[] last = new Result[1];
        Timing timing = Timing.measure(() -> last[0] = kernel.forward(batch), warmups, repeat, err, backend.name());
        line("backend", String.format(Locale.ROOT, "%s: compile %.3f ms, run %.3f ms median of %d (min %.3f, max %.3f ms)", backend.name(),
                compileNanos / 1e6, timing.medianNanos() / 1e6, timing.runs(), timing.minNanos() / 1e6, timing.maxNanos() / 1e6));
        long keys = 0;
        for (int length : cache.kvLengths().ints()) keys += length;
        // A latent cache's V pool is K's: its bytes are read once, with K's.
        boolean latent = cache.v().storage().equals(cache.k().storage());
        double bytes = (double) keys * binding.kvHeads() * (binding.headDim() + (latent ? 0 : binding.valueDim())) * batch.q().dtype().bytes();
        line("speed", String.format(Locale.ROOT, "%.3f GB/s of K and V read (%.4g bytes: each sequence's keys and values once%s)", bytes / timing.medianNanos(), bytes,
                latent ? ", V within K's rows" : ""));
        if (!check) {
            line("ok", "not checked (--check none)");
            return true;
        }
        Progress progress = new Progress(err, "checking against the reference", binding.batch());
        double[] reference = new double[binding.totalQueries() * binding.heads() * binding.valueDim()];
        double[] referenceLse = last[0].lse() == null ? null : new double[binding.totalQueries() * binding.heads()];
        for (RaggedBinding.Sequence s : binding.sequences()) {
            Reference.Exact dense = Reference.run(pattern, DenseEquivalent.of(binding, batch, s.index()), DenseEquivalent.rows(binding, s.index()), done -> {});
            int dv = binding.valueDim();
            for (int h = 0; h < binding.heads(); h++) {
                for (int i = 0; i < s.queries(); i++) {
                    int from = h * s.queries() + i, to = (s.firstQuery() + i) * binding.heads() + h;
                    System.arraycopy(dense.out(), from * dv, reference, to * dv, dv);
                    if (referenceLse != null) referenceLse[to] = dense.lse()[from];
                }
            }
            progress.update(s.index() + 1);
        }
        progress.done();
        Accuracy accuracy = Accuracy.compare(last[0].out(), last[0].lse(), binding.valueDim(), null, reference, referenceLse);
        if (!accuracy.finite()) {
            line("FAILED", "the output has a non-finite value at flat index " + accuracy.firstBad() + " [totalQ, H, Dv]");
            return false;
        }
        Accuracy.Tolerance tolerance = Accuracy.Tolerance.of(backend, batch.q().dtype());
        line("error", String.format(Locale.ROOT, "max abs %.3g, max rel %.3g%s against the reference's dense launch of each sequence", accuracy.maxAbs(), accuracy.maxRel(),
                last[0].lse() == null ? "" : String.format(Locale.ROOT, ", lse max rel %.3g", accuracy.lseMaxRel())));
        boolean ok = accuracy.within(tolerance);
        line(ok ? "ok" : "FAILED", String.format(Locale.ROOT, "%s tolerance %.0e relative, out and lse (%s)", ok ? "within" : "outside", tolerance.value(), tolerance.reason()));
        return ok;
    }

    private static int[] lengths(int[] starts) {
        int[] lengths = new int[starts.length - 1];
        for (int b = 0; b < lengths.length; b++) lengths[b] = starts[b + 1] - starts[b];
        return lengths;
    }

    private void line(String label, String text) {
        out.printf(Locale.ROOT, "%-9s %s%n", label, text);
    }
}
