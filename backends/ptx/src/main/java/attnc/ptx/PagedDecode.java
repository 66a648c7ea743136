package attnc.ptx;

import attnc.gpu.Device;
import attnc.gpu.DeviceTensor;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Index;
import attnc.ir.Input;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.RaggedBatch;
import attnc.launch.RaggedBinding;
import attnc.launch.Result;
import attnc.launch.ShapeException;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A ragged launch over a paged KV cache on the GPU: the split-KV decode kernel reading K and V
 * through the block table, each sequence with its own keys and its queries at their bottom right
 * (a paged {@link attnc.ptx.emit.Decode} mode). The pools, table and lengths are uploaded as they
 * are, no sequence gathered; the queries go to [B, H, Nq, D] and the output comes back as
 * [totalQ, H, Dv].
 *
 * <p>What it takes, each refused in one line before any device work otherwise: every sequence
 * with the same number of queries, at most {@link GpuDecode#MAX_AUTO_QUERIES}; head dims up to
 * {@link GpuDecode#maxHeadDim}, or up to 576 where the V pool is the K pool's first Dv columns
 * (MLA's latent cache, {@link GpuDecode#latent}); inputs whose shapes do not name Nq, Nkv or Q0 (the kernel
 * addresses inputs with one launch's sizes); a sink and output transform that do not read q, Nq,
 * Nkv or Q0 (the merge applies them with one launch's query offset).
 */
final class PagedDecode implements AutoCloseable {
    private static final Set<String> PER_SEQUENCE = Set.of("Nq", "Nkv", "Q0");

    private final Device device;
    private final RaggedBinding ragged;
    private final Binding launch;
    private final GpuDecode decoder;
    private final GpuAttention.Tensors tensors;
    private final DeviceTensor tiles;
    private final GpuDecode.Partials partials;
    private final DeviceBuffers owned = new DeviceBuffers();

    /**
     * The launch every sequence shares: B, H, Hkv, D, Dv, the common Nq, the longest Nkv (at least
     * 1), and the sizes the inputs' shapes name (a T5 table's buckets) and the params, as the first
     * sequence has them.
     */
    static Binding launchBinding(RaggedBinding ragged, int queries) {
        int longest = 1;
        for (RaggedBinding.Sequence s : ragged.sequences()) longest = Math.max(longest, s.keys());
        Map<String, Integer> sizes = new LinkedHashMap<>(ragged.sequences().getFirst().binding().sizes());
        sizes.putAll(Map.of("B", ragged.batch(), "H", ragged.heads(), "Hkv", ragged.kvHeads(), "Nq", queries,
                "Nkv", longest, "D", ragged.headDim(), "Dv", ragged.valueDim(), "Q0", Math.max(0, longest - queries)));
        return new Binding(Map.copyOf(sizes), Math.max(0, longest - queries), ragged.sequences().getFirst().binding().params());
    }

    /**
     * Whether this path takes the batch: every sequence with the same 1 to {@link
     * GpuDecode#MAX_AUTO_QUERIES} queries, head dims up to {@link GpuDecode#maxHeadDim} on sm_{@code
     * sm} (any, for a {@code latent} cache), and a pattern it can run ({@link #patternRefusal}); the
     * ragged prefill takes the rest.
     */
    static boolean takes(Pattern pattern, RaggedBinding ragged, int sm, boolean latent) {
        int queries = ragged.sequences().getFirst().queries();
        for (RaggedBinding.Sequence s : ragged.sequences()) if (s.queries() != queries) return false;
        return queries >= 1 && queries <= GpuDecode.MAX_AUTO_QUERIES && (latent || Math.max(ragged.headDim(), ragged.valueDim()) <= GpuDecode.maxHeadDim(sm))
                && patternRefusal(pattern) == null;
    }

    /** The queries every sequence has, or a refusal naming what this path takes. */
    static int requireSupported(Pattern pattern, RaggedBinding ragged, int sm, boolean latent) {
        int queries = ragged.sequences().getFirst().queries();
        for (RaggedBinding.Sequence s : ragged.sequences()) {
            if (s.queries() != queries) {
                throw new UnsupportedOperationException("the ptx backend runs paged launches whose sequences all have the same number of queries "
                        + "(a decode step); sequence 0 has " + queries + ", sequence " + s.index() + " has " + s.queries());
            }
        }
        if (queries < 1 || queries > GpuDecode.MAX_AUTO_QUERIES) {
            throw new UnsupportedOperationException("the ptx backend runs paged launches of 1 to " + GpuDecode.MAX_AUTO_QUERIES
                    + " queries a sequence; got " + queries);
        }
        if (!latent && Math.max(ragged.headDim(), ragged.valueDim()) > GpuDecode.maxHeadDim(sm)) {
            throw new ShapeException("the ptx backend's paged decode on sm_" + sm + " takes head dims up to " + GpuDecode.maxHeadDim(sm) + ", got D = "
                    + ragged.headDim() + ", Dv = " + ragged.valueDim() + "; " + GpuDecode.latentRule(sm));
        }
        String refusal = patternRefusal(pattern);
        if (refusal != null) throw new UnsupportedOperationException(refusal);
        return queries;
    }

    /** Why this path cannot run {@code pattern} whatever the batch, or null when it can (the export's manifest says so too). */
    static String patternRefusal(Pattern pattern) {
        for (Input input : pattern.inputs()) {
            for (Expr dim : input.shape()) {
                if (ExprTree.any(dim, e -> e instanceof Expr.SizeRef(String name) && PER_SEQUENCE.contains(name))) {
                    return "the ptx backend's paged decode cannot take input '" + input.name() + "', whose shape names a size of its own per sequence (Nq, Nkv or Q0)";
                }
            }
        }
        List<Expr> merged = new ArrayList<>(List.of(pattern.output()));
        if (pattern.norm() instanceof Norm.Softmax(var sink)) sink.ifPresent(merged::add);
        for (Expr e : merged) {
            if (ExprTree.any(e, x -> x instanceof Expr.IndexRef(Index i) && i == Index.Q || x instanceof Expr.SizeRef(String name) && PER_SEQUENCE.contains(name))) {
                return "the ptx backend's paged decode cannot apply a sink or output transform that reads q, Nq, Nkv or Q0";
            }
        }
        return null;
    }

    /**
     * Uploads the batch and builds each sequence's tile lists; {@code decoder} is the paged decode
     * module for {@code launch}; a {@code latent} cache's V pool, K's first columns, is not uploaded.
     */
    PagedDecode(Device device, GpuDecode decoder, RaggedBatch batch, RaggedBinding ragged, Binding launch, Pattern pattern, boolean writesLse, boolean latent) {
        this.device = device;
        this.ragged = ragged;
        this.launch = launch;
        this.decoder = decoder;
        DType dtype = PtxKernel.inputDType(batch.q().dtype());
        int b = launch.size("B"), h = launch.size("H"), nq = launch.size("Nq"), dv = launch.size("Dv");
        try {
            DeviceTensor q = owned.add(DeviceTensor.upload(device, HeadPadding.pad(byHead(batch.q(), ragged, nq)), dtype));
            DeviceTensor k = owned.add(DeviceTensor.upload(device, HeadPadding.pad(batch.cache().k()), dtype));
            DeviceTensor v = latent ? k : owned.add(DeviceTensor.upload(device, HeadPadding.pad(batch.cache().v()), dtype));
            DeviceTensor table = owned.add(DeviceTensor.upload(device, batch.cache().blockTable(), DType.INT32));
            DeviceTensor lengths = owned.add(DeviceTensor.upload(device, batch.cache().kvLengths(), DType.INT32));
            DeviceTensor out = owned.add(DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq, HeadPadding.padded(dv)));
            DeviceTensor lse = writesLse ? owned.add(DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq)) : null;
            // Poisoned with NaN: a row the kernels fail to write cannot pass a comparison.
            out.fill(0xFF);
            if (lse != null) lse.fill(0xFF);
            Map<String, DeviceTensor> inputs = new LinkedHashMap<>();
            for (Input input : pattern.inputs()) inputs.put(input.name(), owned.add(DeviceTensor.upload(device, batch.inputs().get(input.name()), input.dtype())));
            GpuAttention.Paged paged = new GpuAttention.Paged(table, lengths, Integer.numberOfTrailingZeros(ragged.pageSize()), ragged.maxPages());
            tensors = new GpuAttention.Tensors(q, k, v, out, lse, null, inputs, paged);
            Binding padded = HeadPadding.of(launch).binding(launch);
            int splits = batch.kvSplits() > 0 ? Math.min(batch.kvSplits(), decoder.kvTiles(padded)) : decoder.splits(padded);
            partials = owned.add(decoder.allocatePartials(padded, splits));
            tiles = owned.add(DeviceTensor.allocate(device, DType.INT32, decoder.tilesLength(padded)));
            decoder.preparePagedTiles(ragged, padded, tiles);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The queries [totalQ, H, D] as [B, H, Nq, D]: sequence b's query i is row queryStarts[b] + i. */
    static Tensor byHead(Tensor q, RaggedBinding ragged, int nq) {
        int h = q.dim(1), d = q.dim(2);
        float[] from = q.floats(), to = new float[ragged.batch() * h * nq * d];
        for (RaggedBinding.Sequence s : ragged.sequences()) {
            for (int head = 0; head < h; head++) {
                for (int i = 0; i < nq; i++) {
                    System.arraycopy(from, ((s.firstQuery() + i) * h + head) * d, to, ((s.index() * h + head) * nq + i) * d, d);
                }
            }
        }
        return Tensor.ofFloats(q.dtype(), new int[] {ragged.batch(), h, nq, d}, to);
    }

    /** Launches the decode kernel and the merge, waits, and returns the output [totalQ, H, Dv] and LSE [totalQ, H]. */
    Result run() {
        Binding padded = HeadPadding.of(launch).binding(launch);
        decoder.launch(padded, tensors, tiles, partials);
        device.synchronize();
        int h = launch.size("H"), nq = launch.size("Nq"), dv = launch.size("Dv");
        float[] out = HeadPadding.trim(tensors.out().readFloats(), dv), lse = tensors.lse() == null ? null : tensors.lse().readFloats();
        float[] rows = new float[ragged.totalQueries() * h * dv], rowLse = lse == null ? null : new float[ragged.totalQueries() * h];
        for (RaggedBinding.Sequence s : ragged.sequences()) {
            for (int head = 0; head < h; head++) {
                for (int i = 0; i < nq; i++) {
                    int from = (s.index() * h + head) * nq + i, to = (s.firstQuery() + i) * h + head;
                    System.arraycopy(out, from * dv, rows, to * dv, dv);
                    if (lse != null) rowLse[to] = lse[from];
                }
            }
        }
        return new Result(rows, rowLse, new int[] {ragged.totalQueries(), h, dv});
    }


    @Override
    public void close() {
        owned.close();
    }
}
