package attnc.ptx;

import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Type;
import attnc.lower.LowerBackward;
import attnc.lower.LoweredBackward;
import attnc.lower.LoweredPattern;
import attnc.ptx.emit.BackwardConfig;
import attnc.ptx.emit.BackwardModule;
import attnc.ptx.emit.ClassifyEmitter;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.ptx.emit.Signature;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code attnc export --target ptx} writes for a pattern: one PTX module per architecture and
 * supported head dim (bf16 inputs and output): the mma.sync kernel for sm_80, which loads on every
 * GPU from Ampere on, and the Hopper kernel for sm_90a (wgmma and TMA: it also takes three tensor
 * maps, described per variant). {@code kernel.json} tells a caller with no attnc at hand how to
 * launch them: the entry, the arguments in order with their meaning, grid and block dims, shared
 * memory, and how to fill the tile list (on the host when every element is visible, else with the
 * classifier entry). The backward's modules and entries are described under {@code backward} (and,
 * for a pattern with input gradients, modules giving q, k and v's only, for callers holding the
 * inputs fixed, under {@code backward_operands}), the split-KV decode modules (plain, GQA-packed,
 * paged) and the paged ABI under {@code decode} ({@link DecodeExport}), and the ragged prefill
 * modules and their block-table ABI under {@code ragged} ({@link RaggedExport}).
 */
final class PtxExport {
    static final String DESCRIPTION = "kernel.json";
    /** The head dims exported: the two the default tilings were measured for. */
    static final List<Integer> HEAD_DIMS = List.of(64, 128);
    /**
     * The precision the exported backward stores dK and dV in: PyTorch takes bf16 gradients of bf16
     * keys and values, which the kernel then writes directly (dq and the inputs' stay float32 sums).
     */
    private static final DType KEY_GRADIENTS = DType.BFLOAT16;
    /** The architectures exported: sm_80 (mma.sync, runs on every GPU from Ampere on) and sm_90a (the Hopper path). */
    static final List<Integer> ARCHITECTURES = List.of(80, 90);

    private PtxExport() {}

    /**
     * The compute capabilities named by {@code sm_80}, {@code sm_90} or {@code sm_90a} (the sm_90
     * modules hold the Hopper kernel where it runs and mma.sync elsewhere), in export order;
     * anything else is refused with the names this export knows.
     */
    static List<Integer> architectures(List<String> names) {
        java.util.SortedSet<Integer> sms = new java.util.TreeSet<>();
        for (String name : names) {
            sms.add(switch (name.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "sm_80" -> 80;
                case "sm_90", "sm_90a" -> 90;
                default -> throw new IllegalArgumentException("unknown architecture '" + name.trim() + "'; expected sm_80 or sm_90a (or both, comma-separated)");
            });
        }
        return List.copyOf(sms);
    }

    /** The modules for compute capabilities {@code sms} (a subset of {@link #ARCHITECTURES}) and their description. */
    static Map<String, byte[]> files(LoweredPattern lowered, List<Integer> sms) {
        Pattern pattern = lowered.pattern();
        Map<String, byte[]> files = new LinkedHashMap<>();
        JsonArray variants = new JsonArray();
        PtxModule first = null;
        for (int sm : sms) {
            for (int d : HEAD_DIMS) {
                KernelConfig config = KernelConfig.of(lowered, sm, DType.BFLOAT16, d, d).withOutput(DType.BFLOAT16);
                PtxModule module = PtxModule.render(lowered, config);
                if (first == null) first = module;
                String file = fileName(pattern, config);
                files.put(file, module.text().getBytes(StandardCharsets.US_ASCII));
                variants.add(variant(file, config, pattern));
            }
        }
        JsonObject kernel = new JsonObject();
        kernel.addProperty("entry", PtxModule.ATTENTION_ENTRY);
        kernel.addProperty("targets", String.join(" and ", sms.stream().map(sm -> sm == 80 ? "sm_80 (mma.sync, every GPU from Ampere on)"
                : "sm_90 / sm_90a (Hopper only)").toList()) + ": see variants[].arch");
        precisions(kernel, "bfloat16", lowered);
        kernel.add("grid", strings("ceil(Nq / block_m)", "B * H", "1"));
        kernel.addProperty("arguments_note", "the sm_80 variants' arguments; an sm_90a variant lists its own, with three tensor maps after p_tiles");
        kernel.add("block", strings("threads", "1", "1"));
        kernel.add("variants", variants);
        kernel.add("arguments", arguments(pattern));
        kernel.add("tile_list", tileList(first, lowered));
        LoweredBackward lb = LowerBackward.lower(pattern);
        kernel.add("backward", backward(pattern, lb, "", sms, files));
        // For callers holding the inputs fixed (ALiBi's slopes): modules that compute q, k and v's gradients only.
        if (!lb.inputs().isEmpty()) kernel.add("backward_operands", backward(pattern, lb.only(List.of()), "_qkv", sms, files));
        kernel.add("decode", DecodeExport.describe(lowered, sms, files));
        kernel.add("ragged", RaggedExport.describe(lowered, sms, files));
        files.put(DESCRIPTION, new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(kernel).getBytes(StandardCharsets.UTF_8));
        return files;
    }

    /** {@code causal.ptx} for sm_80 at D=64, {@code causal_d128.ptx}, {@code causal_sm_90a.ptx}, {@code causal_sm_90a_d128.ptx}. */
    static String fileName(Pattern pattern, KernelConfig config) {
        return pattern.name() + (config.sm() == ARCHITECTURES.getFirst() ? "" : "_" + arch(config))
                + (config.headDim() == HEAD_DIMS.getFirst() ? "" : "_d" + config.headDim()) + ".ptx";
    }

    /**
     * What every launch section says of its data: bf16 inputs, {@code output} out, the exported head
     * dims and whether an LSE is written; the forward's, the decode's and the ragged prefill's.
     */
    static void precisions(JsonObject section, String output, LoweredPattern lowered) {
        section.addProperty("dtype", "bfloat16");
        section.addProperty("output_dtype", output);
        section.addProperty("head_dims", "D == Dv, one of " + HEAD_DIMS + " (see variants)");
        section.addProperty("writes_lse", lowered.writesLse());
    }

    static String arch(KernelConfig c) { return "sm_" + c.sm() + (c.schedule().wgmma() ? "a" : ""); }

    /** A forward-side module's head dims, threads, shared memory and tiling, as every variant of the manifest gives them. */
    static void tiling(JsonObject v, KernelConfig c) {
        v.addProperty("head_dim", c.headDim());
        v.addProperty("value_dim", c.valueDim());
        v.addProperty("threads", c.threads());
        v.addProperty("shared_bytes", c.sharedBytes());
        v.addProperty("block_m", c.blockM());
        v.addProperty("block_n", c.blockN());
        v.addProperty("warps", c.warps());
        v.addProperty("stages", c.stages());
        v.addProperty("list_groups", c.listGroups());
    }

    private static JsonObject variant(String file, KernelConfig c, Pattern pattern) {
        JsonObject v = new JsonObject();
        v.addProperty("file", file);
        v.addProperty("arch", arch(c));
        v.addProperty("schedule", c.schedule().name().toLowerCase(java.util.Locale.ROOT));
        tiling(v, c);
        v.addProperty("m_tiles", c.mTiles());
        if (c.schedule().wgmma()) {
            v.add("arguments", arguments(pattern, Signature.of(pattern, c)));
            JsonArray maps = new JsonArray();
            maps.add(tensorMap("p_tmap_q", "q", "[D, Nq, B*H]", "[2*D, 2*D*Nq]", "[64, block_m, 1]"));
            maps.add(tensorMap("p_tmap_k", "k", "[D, Nkv, B*Hkv]", "[2*D, 2*D*Nkv]", "[64, block_n, 1]"));
            maps.add(tensorMap("p_tmap_v", "v", "[Dv, Nkv, B*Hkv]", "[2*Dv, 2*Dv*Nkv]", "[64, block_n, 1]"));
            v.add("tensor_maps", maps);
        }
        return v;
    }

    /**
     * One CUtensorMap argument as cuTensorMapEncodeTiled builds it: bf16, rank 3, dims innermost
     * first, byte strides of dims 1 and 2, the box one copy moves, 128-byte swizzle, elements
     * outside the dims read as zero, L2 promotion 128 bytes, interleave none, element strides 1.
     */
    private static JsonObject tensorMap(String name, String tensor, String dims, String strides, String box) {
        JsonObject m = new JsonObject();
        m.addProperty("argument", name);
        m.addProperty("tensor", tensor);
        m.addProperty("data_type", "CU_TENSOR_MAP_DATA_TYPE_BFLOAT16");
        m.addProperty("dims", dims);
        m.addProperty("strides_bytes", strides);
        m.addProperty("box", box);
        m.addProperty("swizzle", "CU_TENSOR_MAP_SWIZZLE_128B");
        m.addProperty("oob_fill", "CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE (zeros)");
        m.addProperty("l2_promotion", "CU_TENSOR_MAP_L2_PROMOTION_L2_128B");
        m.addProperty("passed", "by value: the 128 bytes of the CUtensorMap, 64-byte aligned");
        return m;
    }

    private static JsonArray arguments(Pattern pattern) {
        return arguments(pattern, Signature.of(pattern));
    }

    static JsonArray arguments(Pattern pattern, Signature signature) {
        Map<String, String> meaning = new LinkedHashMap<>();
        meaning.put("p_q", "queries, bfloat16 [B, H, Nq, D], contiguous");
        meaning.put("p_k", "keys, bfloat16 [B, Hkv, Nkv, D], contiguous");
        meaning.put("p_v", "values, bfloat16 [B, Hkv, Nkv, Dv], contiguous");
        meaning.put("p_out", "output, bfloat16 [B, H, Nq, Dv]; rows with no visible key are 0");
        meaning.put("p_lse", "log-sum-exp of the scores, float32 [B, H, Nq] (natural log; -inf for empty rows); 0 to skip; unused without softmax");
        meaning.put("p_pre_out", "o before the output transform, float32 [B, H, Nq, Dv], kept for a backward pass; 0 to skip");
        meaning.put("p_tiles", "int32 tile lists, see tile_list");
        for (String t : signature.tensorMaps()) meaning.put("p_tmap_" + t, "tensor map of " + t + ", see this variant's tensor_maps");
        for (Input input : pattern.inputs()) {
            meaning.put("p_in_" + input.name(), "input '" + input.name() + "', " + input.dtype().spelling() + " "
                    + input.shape().stream().map(attnc.ir.Printer::expr).toList() + ", contiguous");
        }
        meaning.put("p_B", "batch size");
        meaning.put("p_H", "query heads");
        meaning.put("p_Hkv", "key/value heads (H % Hkv == 0)");
        meaning.put("p_Nq", "queries");
        meaning.put("p_Nkv", "keys");
        meaning.put("p_query_offset", "absolute position of query 0 (Nkv - Nq for bottom-right alignment, else 0)");
        meaning.put("p_kv_tiles", "ceil(Nkv / block_n)");
        meaning.put("p_slots_h", "H if tile_list.per_head else 1");
        meaning.put("p_slot_stride_b", "p_slots_h if tile_list.per_batch else 0");
        meaning.put("p_slot_stride_h", "1 if tile_list.per_head else 0");
        for (String size : signature.extraSizes()) meaning.put("p_size_" + size, "size " + size + " " + whereSized(pattern, size));
        for (Param p : signature.params()) {
            meaning.put("p_param_" + p.name(), "param '" + p.name() + "' (" + p.type().spelling() + (p.type() == Type.BOOL ? " as 0/1" : "")
                    + p.defaultValue().map(v -> ", default " + attnc.ir.Printer.expr(v)).orElse("") + ")");
        }
        JsonArray args = new JsonArray();
        for (String[] declaration : signature.declarations()) {
            JsonObject a = new JsonObject();
            a.addProperty("name", declaration[1]);
            a.addProperty("type", declaration[0].equals(Signature.TENSOR_MAP) ? "CUtensorMap" : declaration[0].substring(1));
            a.addProperty("meaning", meaning.get(declaration[1]));
            args.add(a);
        }
        return args;
    }

    /** "(dim 1 of input 'blocks')": where a caller reads a symbolic size from. */
    private static String whereSized(Pattern pattern, String size) {
        for (Input input : pattern.inputs()) {
            for (int axis = 0; axis < input.shape().size(); axis++) {
                if (input.shape().get(axis) instanceof Expr.SizeRef(String name) && name.equals(size)) {
                    return "(dim " + axis + " of input '" + input.name() + "')";
                }
            }
        }
        return "(from the shapes of the inputs)";
    }

    private static JsonObject tileList(PtxModule module, LoweredPattern lowered) {
        JsonObject t = new JsonObject();
        t.addProperty("dtype", "int32");
        JsonArray reads = new JsonArray();
        lowered.visibility().inputs().stream().sorted().forEach(reads::add);
        t.add("reads_inputs", reads);
        t.addProperty("reads_inputs_note", "the inputs the lists depend on: with none, lists can be kept per shape and params");
        t.addProperty("per_batch", module.maskPerBatch());
        t.addProperty("per_head", module.maskPerHead());
        t.addProperty("slots", "slots_b * slots_h, slots_b = B if per_batch else 1, slots_h = H if per_head else 1");
        t.addProperty("length", "slots * ceil(Nq / block_m) * (kv_tiles + 1)");
        t.addProperty("layout", "row (slot * ceil(Nq / block_m) + query_block) of kv_tiles + 1 ints: [count, entry_0 .. entry_{count-1}, unused...];"
                + " slot = b * slot_stride_b + h * slot_stride_h; entry = kv tile index | full_bit");
        t.addProperty("full_bit", PtxModule.FULL_BIT);
        t.addProperty("rule", "list every kv tile holding a visible (q, kv) of the query block, in any order; set full_bit only when every (q < Nq, kv) of the tile is visible and the tile lies inside Nkv");
        t.addProperty("group_bits", "optional, for variants with list_groups > 0 (their kernels read the tile index from the low " + PtxModule.TILE_BITS
                + " bits): for warpgroup w < list_groups, rows w * block_m / list_groups and on, entry | (" + PtxModule.groupHidden(0)
                + " << w) when none of its (q < Nq, kv) is visible, | (" + PtxModule.groupFull(0) + " << w) when all are and the tile lies inside Nkv; the classifier sets them");
        if (module.classifies()) {
            t.addProperty("builder", "classifier");
            JsonObject c = new JsonObject();
            c.addProperty("entry", PtxModule.CLASSIFY_ENTRY);
            c.add("grid", strings("ceil(Nq / block_m)", "slots", "1"));
            c.add("block", strings(Integer.toString(ClassifyEmitter.THREADS), "1", "1"));
            c.addProperty("shared_bytes", 0);
            c.addProperty("arguments", "the same as the attention entry, once per set of inputs, before the attention launch");
            t.add("classifier", c);
        } else {
            t.addProperty("builder", "host: every row is [kv_tiles, 0 | F, 1 | F, ...], F = full_bit except for a last tile that runs past Nkv");
        }
        return t;
    }

    /**
     * The backward's modules (mma.sync for sm_80 and sm_90, the sm_90 one adding gradients with
     * vector reductions; and for sm_90a, where {@link BackwardConfig#of} runs it, the wgmma kernel,
     * whose main and classify entries also take four tensor maps, described per variant like the
     * forward's) and how to run them: zero the gradients, the delta entry, the tile lists (the
     * classifier entry, or on the host when every element is visible), the main entry, the rows
     * entry. Each entry's arguments are listed by name, like the forward's. {@code suffix} goes
     * into the file names ({@code _qkv} for the modules without input gradients).
     */
    private static JsonObject backward(Pattern pattern, LoweredBackward lb, String suffix, List<Integer> sms, Map<String, byte[]> files) {
        JsonArray variants = new JsonArray();
        BackwardModule first = null;
        for (int sm : sms) {
            for (int d : HEAD_DIMS) {
                BackwardConfig mma = BackwardConfig.mmaSync(sm, DType.BFLOAT16, d, d).withForwardOutput(DType.BFLOAT16).withKeyGradients(KEY_GRADIENTS);
                BackwardConfig best = BackwardConfig.of(sm, DType.BFLOAT16, d, d).withForwardOutput(DType.BFLOAT16).withKeyGradients(KEY_GRADIENTS);
                for (BackwardConfig config : best.wgmma() ? List.of(best, mma) : List.of(mma)) {
                    BackwardModule module = BackwardModule.render(lb, config);
                    if (first == null && !config.wgmma()) first = module;
                    String arch = "sm_" + sm + (config.wgmma() ? "a" : "");
                    String file = pattern.name() + "_backward" + suffix + (arch.equals("sm_80") ? "" : "_" + arch) + (d == HEAD_DIMS.getFirst() ? "" : "_d" + d) + ".ptx";
                    files.put(file, module.text().getBytes(StandardCharsets.US_ASCII));
                    variants.add(backwardVariant(file, arch, config, pattern, module));
                }
            }
        }
        JsonObject b = new JsonObject();
        b.add("variants", variants);
        b.add("gradients", gradients(lb));
        b.add("gradient_dtypes", gradientDtypes(lb));
        b.addProperty("order", "zero every argument in 'zeroed'; delta (if present); the tile list (classifier, or the host rule); main; rows (if present)");
        JsonArray zeroed = new JsonArray();
        for (String t : first.signature().tensors()) if (List.of("dq", "row_grads").contains(t) || t.startsWith("grad_")) zeroed.add("p_" + t);
        b.add("zeroed", zeroed);
        JsonObject entries = new JsonObject();
        if (first.hasDelta()) {
            entries.add("delta", entry(BackwardModule.DELTA_ENTRY, strings("ceil(B * H * Nq / " + BackwardModule.DELTA_ROWS_PER_BLOCK + ")", "1", "1"),
                    Integer.toString(BackwardModule.ROW_THREADS), "0", backwardArguments(pattern, first.deltaSignature())));
        }
        if (first.classifies()) {
            entries.add("classify", entry(BackwardModule.CLASSIFY_ENTRY, strings("kv_tiles", "slots", "1"), Integer.toString(BackwardModule.CLASSIFIER_THREADS),
                    "0", backwardArguments(pattern, first.signature())));
        }
        entries.add("main", entry(BackwardModule.BACKWARD_ENTRY, strings("kv_tiles", "B * Hkv", "1"), "threads", "shared_bytes",
                backwardArguments(pattern, first.signature())));
        if (first.hasRows()) {
            entries.add("rows", entry(BackwardModule.ROWS_ENTRY, strings("ceil(B * H * Nq / " + BackwardModule.ROW_THREADS + ")", "1", "1"),
                    Integer.toString(BackwardModule.ROW_THREADS), "0", backwardArguments(pattern, first.rowsSignature())));
        }
        b.add("entries", entries);
        b.addProperty("output_transform", first.transformsOutput());
        if (first.transformsOutput()) b.addProperty("dout_argument", "main and classify take p_dout_eff (the delta entry's output) as p_dout");
        JsonObject scratch = new JsonObject();
        scratch.add("p_delta", buffer("float32", "B", "H", "Nq"));
        scratch.add("p_row_grads", buffer("float32", Integer.toString(BackwardModule.ROW_SUMS), "B", "H", "Nq"));
        if (first.transformsOutput()) scratch.add("p_dout_eff", buffer("bfloat16", "B", "H", "Nq", "Dv"));
        scratch.add("p_tiles", buffer("int32", "slots * kv_tiles * (q_tiles + 1)"));
        b.add("scratch", scratch);
        JsonObject t = new JsonObject();
        t.addProperty("length", "slots * kv_tiles * (q_tiles + 1), q_tiles = ceil(Nq / block_q), kv_tiles = ceil(Nkv / block_kv)");
        t.addProperty("layout", "row (slot * kv_tiles + kv_tile) of q_tiles + 1 ints: [count, entry_0 .. entry_{count-1}, unused...]; entry = query tile | full_bit;"
                + " slots and slot strides as the forward's tile_list");
        t.addProperty("rule", "list every query tile holding a visible (q, kv) of the kv tile; set full_bit only when every (q, kv) of the tile is visible"
                + " and the tile lies inside Nq and Nkv");
        t.addProperty("builder", first.classifies() ? "classifier (entries.classify)"
                : "host: every row is [q_tiles, 0 | F, 1 | F, ...], F = full_bit unless the query tile runs past Nq or the kv tile past Nkv");
        b.add("tile_list", t);
        return b;
    }

    private static JsonObject backwardVariant(String file, String arch, BackwardConfig config, Pattern pattern, BackwardModule module) {
        JsonObject v = new JsonObject();
        v.addProperty("file", file);
        v.addProperty("arch", arch);
        v.addProperty("head_dim", config.headDim());
        v.addProperty("value_dim", config.valueDim());
        v.addProperty("block_q", config.blockQ());
        v.addProperty("block_kv", config.blockKv());
        v.addProperty("threads", config.threads());
        v.addProperty("shared_bytes", config.sharedBytes());
        if (config.wgmma()) {
            v.add("arguments", backwardArguments(pattern, module.signature()));
            v.addProperty("arguments_note", "the main and classify entries' arguments in this variant");
            JsonArray maps = new JsonArray();
            maps.add(tensorMap("p_tmap_q", "q", "[D, Nq, B*H]", "[2*D, 2*D*Nq]", "[64, block_q, 1]"));
            maps.add(tensorMap("p_tmap_k", "k", "[D, Nkv, B*Hkv]", "[2*D, 2*D*Nkv]", "[64, block_kv, 1]"));
            maps.add(tensorMap("p_tmap_v", "v", "[Dv, Nkv, B*Hkv]", "[2*Dv, 2*Dv*Nkv]", "[64, block_kv, 1]"));
            JsonObject dout = tensorMap("p_tmap_dout", "dout", "[Dv, Nq, B*H]", "[2*Dv, 2*Dv*Nq]", "[64, block_q, 1]");
            dout.addProperty("tensor_note", "dout_eff (the delta entry's output) for a pattern with an output transform, as p_dout");
            maps.add(dout);
            JsonObject dq = tensorMap("p_tmap_dq", "dq", "[D, Nq, B*H]", "[4*D, 4*D*Nq]", "[" + BackwardConfig.DQ_BOX_COLUMNS + ", block_q, 1]");
            dq.addProperty("data_type", "CU_TENSOR_MAP_DATA_TYPE_FLOAT32");
            dq.addProperty("tensor_note", "the float32 dq scratch, which the kernel adds into with TMA reductions");
            maps.add(dq);
            v.add("tensor_maps", maps);
        }
        return v;
    }

    static JsonObject buffer(String dtype, String... shape) {
        JsonObject b = new JsonObject();
        b.addProperty("dtype", dtype);
        b.add("shape", strings(shape));
        return b;
    }

    static JsonObject entry(String name, JsonArray grid, String block, String shared, JsonArray arguments) {
        JsonObject e = new JsonObject();
        e.addProperty("entry", name);
        e.add("grid", grid);
        e.add("block", strings(block, "1", "1"));
        e.addProperty("shared_bytes", shared);
        e.add("arguments", arguments);
        return e;
    }

    /** What each gradient argument holds: dq, dk, dv, then each input's, of the shape of what it is the gradient of. */
    private static JsonArray gradients(LoweredBackward lb) {
        JsonArray g = new JsonArray();
        for (String name : List.of("dq", "dk", "dv")) g.add("p_" + name);
        for (String input : lb.inputs()) g.add("p_grad_" + input);
        return g;
    }

    /** Each gradient's dtype: dk and dv {@link #KEY_GRADIENTS} (stored once, rounded by the kernel), the sums dq and the inputs' float32. */
    private static JsonObject gradientDtypes(LoweredBackward lb) {
        JsonObject dtypes = new JsonObject();
        for (var name : gradients(lb)) {
            dtypes.addProperty(name.getAsString(), (List.of("p_dk", "p_dv").contains(name.getAsString()) ? KEY_GRADIENTS : DType.FLOAT32).spelling());
        }
        return dtypes;
    }

    private static JsonArray backwardArguments(Pattern pattern, Signature signature) {
        Map<String, String> meaning = new LinkedHashMap<>();
        meaning.put("p_q", "queries, bfloat16 [B, H, Nq, D], contiguous");
        meaning.put("p_k", "keys, bfloat16 [B, Hkv, Nkv, D], contiguous");
        meaning.put("p_v", "values, bfloat16 [B, Hkv, Nkv, Dv], contiguous");
        meaning.put("p_dout", "the gradient of the output, bfloat16 [B, H, Nq, Dv], contiguous (the main and classify entries of a pattern with an output"
                + " transform take dout_eff here, which the delta entry writes)");
        meaning.put("p_out", "the forward's output, bfloat16 [B, H, Nq, Dv]");
        meaning.put("p_pre_out", "the forward's o before the output transform, float32 [B, H, Nq, Dv]");
        meaning.put("p_dout_eff", "scratch, bfloat16 [B, H, Nq, Dv]: dO after the output transform, written by delta, read by main");
        meaning.put("p_lse", "the forward's log-sum-exp, float32 [B, H, Nq] (softmax)");
        meaning.put("p_delta", "scratch, float32 [B, H, Nq]: rowsum(dO o), written by delta (softmax)");
        meaning.put("p_dq", "gradient of q, float32 [B, H, Nq, D], zeroed before the launch");
        meaning.put("p_dk", "gradient of k, " + KEY_GRADIENTS + " [B, Hkv, Nkv, D], written whole by main");
        meaning.put("p_dv", "gradient of v, " + KEY_GRADIENTS + " [B, Hkv, Nkv, Dv], written whole by main");
        meaning.put("p_row_grads", "scratch, float32 [" + BackwardModule.ROW_SUMS + ", B, H, Nq], zeroed before the launch");
        meaning.put("p_tiles", "int32 tile lists, see backward.tile_list");
        meaning.put("p_rows", "B * H * Nq");
        meaning.put("p_q_tiles", "ceil(Nq / block_q)");
        meaning.put("p_kv_tiles", "ceil(Nkv / block_kv)");
        JsonArray forward = arguments(pattern, signature);
        for (var element : forward) {
            JsonObject a = element.getAsJsonObject();
            String name = a.get("name").getAsString();
            if (meaning.containsKey(name)) a.addProperty("meaning", meaning.get(name));
            if (name.startsWith("p_grad_")) a.addProperty("meaning", "gradient of input '" + name.substring(7) + "', float32 of its shape, zeroed before the launch");
        }
        return forward;
    }

    static JsonArray strings(String... values) {
        JsonArray array = new JsonArray();
        for (String v : values) array.add(v);
        return array;
    }
}
