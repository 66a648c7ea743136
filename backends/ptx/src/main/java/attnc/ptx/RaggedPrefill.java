package attnc.ptx;

import attnc.gpu.Device;
import attnc.gpu.DeviceTensor;
import attnc.ir.DType;
import attnc.ir.Input;
import attnc.ir.Pattern;
import attnc.ir.Type;
import attnc.launch.Binding;
import attnc.launch.RaggedBatch;
import attnc.launch.RaggedBinding;
import attnc.launch.Result;
import attnc.launch.ShapeException;
import attnc.lower.LoweredPattern;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.ptx.emit.Signature;
import attnc.tensor.Tensor;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A ragged batch over a paged KV cache on the GPU, any query counts: one launch of the prefill
 * kernel ({@link attnc.ptx.emit.Decode#RAGGED}) over a work list of (sequence, head, query block)
 * entries, longest first ({@link RaggedPlan}). The queries stay packed [totalQ, H, D] and the
 * output comes back packed [totalQ, H, Dv]; K and V are read in place through the block table; no
 * sequence is gathered. Inputs whose shapes do not name Nq, Nkv or Q0 are uploaded once; each of
 * the others is uploaded as every sequence's view of it in that sequence's own sizes, one after
 * another (at most B times the tensor), so the kernel addresses them with the sequence's sizes.
 *
 * <p>Refused before any device work, in one line: head dims that are not multiples of 8 up to
 * 256, and batches whose packed rows (totalQ · H) or pool rows (P · page · Hkv) pass 2^31 − 1,
 * the kernel's 32-bit row indices.
 */
public final class RaggedPrefill implements AutoCloseable {
    private final Device device;
    private final RaggedBinding ragged;
    private final Binding launch;
    private final GpuAttention attention;
    private final GpuAttention.Tensors tensors;
    private final GpuAttention.Ragged work;
    private final DeviceTensor tiles;
    private final DeviceBuffers owned = new DeviceBuffers();

    /**
     * The sizes every sequence shares (B, H, Hkv, D, Dv, the symbolic sizes of inputs; Nq, Nkv and
     * Q0 at their largest, which the kernel replaces per sequence) and the batch's params.
     */
    static Binding launchBinding(RaggedBinding ragged) {
        Binding first = ragged.sequences().getFirst().binding();
        Map<String, Integer> sizes = new HashMap<>(first.sizes());
        int nq = 0, nkv = 0;
        for (RaggedBinding.Sequence s : ragged.sequences()) {
            nq = Math.max(nq, s.queries());
            nkv = Math.max(nkv, s.keys());
        }
        sizes.put("Nq", nq);
        sizes.put("Nkv", nkv);
        sizes.put("Q0", Math.max(0, nkv - nq));
        return new Binding(Map.copyOf(sizes), Math.max(0, nkv - nq), first.params());
    }

    /**
     * For benchmarks and checks: {@code batch} checked, planned and uploaded for a module rendered
     * here (not cached); {@link #launch} times the kernel alone, {@link #run} returns the result.
     */
    public static RaggedPrefill prepare(Device device, LoweredPattern lowered, RaggedBatch batch) {
        return prepare(device, lowered, batch, Tiling.DEFAULT);
    }

    /** Which kernel a ragged launch runs: {@link KernelConfig#ofRagged}'s, or one of the two it chooses between. */
    public enum Tiling { DEFAULT, MMA_SYNC, WGMMA }

    /**
     * As {@link #prepare(Device, LoweredPattern, RaggedBatch)} with the kernel {@code tiling}, to check
     * and time both kernels; {@link Tiling#WGMMA} refuses, in one line, where there is none ({@link #available}).
     */
    public static RaggedPrefill prepare(Device device, LoweredPattern lowered, RaggedBatch batch, Tiling tiling) {
        RaggedBinding ragged = RaggedBinding.of(lowered.pattern(), batch);
        requireSupported(ragged);
        LoweredPattern seen = new HeadPadding(ragged.headDim(), ragged.valueDim()).lowered(lowered);
        KernelConfig config = config(seen, device, batch, ragged, tiling).orElseThrow(() -> new IllegalArgumentException(
                "no wgmma ragged kernel for " + lowered.pattern().name() + " at D = " + ragged.headDim() + ", Dv = " + ragged.valueDim() + " on sm_" + device.sm()));
        GpuAttention attention = new GpuAttention(device, seen, PtxModule.render(seen, config));
        return new RaggedPrefill(device, attention, batch, ragged, RaggedPlan.of(lowered, ragged, config), lowered.pattern(),
                lowered.writesLse());
    }

    /** Whether {@code tiling} has a kernel for this batch on this device: wgmma needs sm_90 and a pattern and head dims the Hopper path takes. */
    public static boolean available(Device device, LoweredPattern lowered, RaggedBatch batch, Tiling tiling) {
        RaggedBinding ragged = RaggedBinding.of(lowered.pattern(), batch);
        LoweredPattern seen = new HeadPadding(ragged.headDim(), ragged.valueDim()).lowered(lowered);
        return config(seen, device, batch, ragged, tiling).isPresent();
    }

    /** The module's tiling at the padded head dims; empty for {@link Tiling#WGMMA} where there is none. */
    static Optional<KernelConfig> config(LoweredPattern seen, Device device, RaggedBatch batch, RaggedBinding ragged, Tiling tiling) {
        DType dtype = PtxKernel.inputDType(batch.q().dtype());
        int sm = KernelConfig.target(device.sm()), d = HeadPadding.padded(ragged.headDim()), dv = HeadPadding.padded(ragged.valueDim());
        return switch (tiling) {
            case DEFAULT -> Optional.of(KernelConfig.ofRagged(seen, sm, dtype, d, dv));
            case MMA_SYNC -> Optional.of(KernelConfig.ofMmaSync(seen, sm, dtype, d, dv).forRagged());
            case WGMMA -> KernelConfig.raggedHopper(seen, sm, dtype, d, dv);
        };
    }

    /** The kernel's tiling. */
    public KernelConfig config() { return attention.module().config(); }

    /** Blocks a launch runs: one per work entry. */
    public int entries() { return work.entries(); }

    /** Refuses, in one line, a batch the kernel cannot address or whose head dims it does not take. */
    static void requireSupported(RaggedBinding ragged) {
        int d = ragged.headDim(), dv = ragged.valueDim();
        if (d % 8 != 0 || dv % 8 != 0 || Math.max(d, dv) > 256 || Math.min(d, dv) < 8) {
            throw new ShapeException("the ptx backend's ragged prefill takes head dims that are multiples of 8 up to 256, got D = " + d + ", Dv = " + dv);
        }
        long rows = (long) ragged.totalQueries() * ragged.heads(), poolRows = (long) ragged.pages() * ragged.pageSize() * ragged.kvHeads();
        if (Math.max(rows, poolRows) > Integer.MAX_VALUE) {
            throw new ShapeException("the ptx backend's ragged prefill indexes rows with 32-bit ints; got totalQ * H = " + rows + " and P * page * Hkv = "
                    + poolRows + "; expected both <= " + Integer.MAX_VALUE + " (split the batch)");
        }
    }

    /** Bytes the launch holds on the device, for the check before any allocation. */
    static long deviceBytes(RaggedBatch batch, RaggedBinding ragged, Pattern pattern) {
        long rows = (long) ragged.totalQueries() * ragged.heads();
        long bytes = 2L * (batch.q().size() + batch.cache().k().size() + batch.cache().v().size()) + 4L * rows * (HeadPadding.padded(ragged.valueDim()) + 1)
                + 4L * batch.cache().blockTable().size();
        for (Input input : pattern.inputs()) {
            long elements = batch.inputs().get(input.name()).size();
            bytes += elements * input.dtype().bytes() * (Signature.raggedInputs(pattern).contains(input.name()) ? ragged.batch() : 1);
        }
        return bytes;
    }

    /** Uploads the batch, the work list and tile lists ({@code plan}) for {@code attention}, a ragged prefill module. */
    RaggedPrefill(Device device, GpuAttention attention, RaggedBatch batch, RaggedBinding ragged, RaggedPlan plan, Pattern pattern, boolean writesLse) {
        this.device = device;
        this.ragged = ragged;
        this.attention = attention;
        Binding logical = launchBinding(ragged);
        this.launch = HeadPadding.of(logical).binding(logical);
        DType dtype = PtxKernel.inputDType(batch.q().dtype());
        try {
            DeviceTensor q = owned.add(DeviceTensor.upload(device, HeadPadding.pad(batch.q()), dtype));
            DeviceTensor k = owned.add(DeviceTensor.upload(device, HeadPadding.pad(batch.cache().k()), dtype));
            DeviceTensor v = owned.add(DeviceTensor.upload(device, HeadPadding.pad(batch.cache().v()), dtype));
            // The int tensors as plain arrays: any view of them (a strided table, say) is read once.
            DeviceTensor table = owned.add(DeviceTensor.allocate(device, DType.INT32, Math.max(1, ragged.blockTable().length)));
            if (ragged.blockTable().length > 0) table.write(ragged.blockTable());
            DeviceTensor lengths = owned.add(DeviceTensor.allocate(device, DType.INT32, ragged.batch()));
            lengths.write(batch.cache().kvLengths().ints());
            DeviceTensor starts = owned.add(DeviceTensor.allocate(device, DType.INT32, ragged.batch() + 1));
            starts.write(batch.queryStarts().ints());
            DeviceTensor out = owned.add(DeviceTensor.allocate(device, DType.FLOAT32, ragged.totalQueries(), ragged.heads(), HeadPadding.padded(ragged.valueDim())));
            DeviceTensor lse = writesLse ? owned.add(DeviceTensor.allocate(device, DType.FLOAT32, ragged.totalQueries(), ragged.heads())) : null;
            // Poisoned with NaN: a row the kernel fails to write cannot pass a comparison.
            out.fill(0xFF);
            if (lse != null) lse.fill(0xFF);
            Map<String, DeviceTensor> inputs = new LinkedHashMap<>();
            List<String> perSequence = Signature.raggedInputs(pattern);
            long[] offsets = new long[ragged.batch() * perSequence.size()];
            for (Input input : pattern.inputs()) {
                int slot = perSequence.indexOf(input.name());
                Tensor host = slot < 0 ? batch.inputs().get(input.name()) : sequenceCopies(input, ragged, slot, perSequence.size(), offsets);
                inputs.put(input.name(), owned.add(DeviceTensor.upload(device, host, input.dtype())));
            }
            DeviceTensor inputOffsets = null;
            if (!perSequence.isEmpty()) {
                inputOffsets = owned.add(DeviceTensor.allocate(device, DType.INT32, offsets.length * 2));
                java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocateDirect(offsets.length * 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                for (long offset : offsets) bytes.putLong(offset);
                inputOffsets.write(bytes.flip());
            }
            GpuAttention.Paged paged = new GpuAttention.Paged(table, lengths, Integer.numberOfTrailingZeros(ragged.pageSize()), ragged.maxPages());
            tensors = new GpuAttention.Tensors(q, k, v, out, lse, null, inputs, paged);
            DeviceTensor entries = owned.add(DeviceTensor.allocate(device, DType.INT32, Math.max(1, plan.work().length)));
            entries.write(plan.work());
            work = new GpuAttention.Ragged(starts, entries, inputOffsets, plan.entries());
            tiles = owned.add(DeviceTensor.allocate(device, DType.INT32, Math.max(1, plan.tiles().length)));
            tiles.write(plan.tiles());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Input {@code input} as each sequence sees it (a view in its own sizes), copied row-major one
     * after another, with one spare element at the end: a row-level load of a sequence whose view is
     * empty (no keys) reads a valid address it never uses. Each copy's byte offset goes to
     * {@code offsets[b · count + slot]}.
     */
    static Tensor sequenceCopies(Input input, RaggedBinding ragged, int slot, int count, long[] offsets) {
        long total = 1;
        for (RaggedBinding.Sequence s : ragged.sequences()) total += s.inputs().get(input.name()).size();
        int n = Math.toIntExact(total), at = 0;
        boolean floats = input.dtype().loadsAs() == Type.FLOAT;
        float[] f = floats ? new float[n] : null;
        int[] i = floats ? null : new int[n];
        for (RaggedBinding.Sequence s : ragged.sequences()) {
            Tensor view = s.inputs().get(input.name());
            offsets[s.index() * count + slot] = (long) at * input.dtype().bytes();
            if (floats) System.arraycopy(view.floats(), 0, f, at, view.size());
            else System.arraycopy(view.ints(), 0, i, at, view.size());
            at += view.size();
        }
        return floats ? Tensor.ofFloats(input.dtype(), new int[] {n}, f) : Tensor.ofInts(input.dtype(), new int[] {n}, i);
    }

    /** Launches the kernel (asynchronously, on the default stream). */
    public void launch() {
        attention.launchRagged(launch, tensors, tiles, work);
    }

    /** Launches, waits, and returns the output [totalQ, H, Dv] and LSE [totalQ, H]. */
    public Result run() {
        launch();
        device.synchronize();
        float[] out = HeadPadding.trim(tensors.out().readFloats(), ragged.valueDim()), lse = tensors.lse() == null ? null : tensors.lse().readFloats();
        return new Result(out, lse, new int[] {ragged.totalQueries(), ragged.heads(), ragged.valueDim()});
    }


    @Override
    public void close() {
        owned.close();
    }
}
