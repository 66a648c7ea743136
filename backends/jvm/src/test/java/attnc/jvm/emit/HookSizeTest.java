package attnc.jvm.emit;

import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.Pattern;
import attnc.jvm.kernel.BackwardTemplate;
import attnc.jvm.kernel.DecodeTemplate;
import attnc.jvm.kernel.FlashTemplate;
import attnc.lower.LowerBackward;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredPattern;
import attnc.pass.Passes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

/**
 * Every method a generator writes for the examples (hooks, their passes, the methods calling the
 * passes) is at most {@link KernelGenerator#PASS_BYTES} bytes of bytecode, so that C2 can inline
 * it and never compiles one large enough to pass its node budget: the forward, decode and
 * backward classes, at the default tiles and at the largest the tuner offers.
 */
class HookSizeTest {
    static Stream<Path> examples() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("../../examples"))) {
            return files.filter(f -> f.toString().endsWith(".attn")).sorted().toList().stream();
        }
    }

    @ParameterizedTest
    @MethodSource("examples")
    void everyGeneratedMethodFitsC2sInliningSize(Path file) throws Exception {
        Pattern pattern = Passes.optimize(Frontend.compile(file), Map.of());
        LoweredPattern lowered = LowerPattern.lower(pattern);
        List<String> tooLarge = new ArrayList<>();
        for (Tiling tiling : List.of(Tiling.standard(), new Tiling(8 * attnc.jvm.kernel.Lanes.L, 128))) {
            check(KernelGenerator.generate(lowered, tiling).bytes(), FlashTemplate.class, tooLarge);
            check(BackwardGenerator.generate(LowerBackward.lower(pattern), tiling).bytes(), BackwardTemplate.class, tooLarge);
        }
        check(KernelGenerator.generateDecode(lowered, 64).bytes(), DecodeTemplate.class, tooLarge);
        assertTrue(tooLarge.isEmpty(), file + ": over " + KernelGenerator.PASS_BYTES + " bytes: " + tooLarge);
    }

    /** Not vacuous: the examples whose hooks were too large for C2 get passes, forward and backward. */
    @Test
    void largeHooksArePassed() throws Exception {
        Pattern pattern = Passes.optimize(Frontend.compile(Path.of("../../examples/low_rank_bias.attn")), Map.of());
        Tiling tiling = Tiling.standard();
        Set<String> forward = generated(KernelGenerator.generate(LowerPattern.lower(pattern), tiling).bytes(), FlashTemplate.class).keySet();
        Set<String> backward = generated(BackwardGenerator.generate(LowerBackward.lower(pattern), tiling).bytes(), BackwardTemplate.class).keySet();
        assertTrue(forward.contains("scoreTile$1"), "forward: " + forward);
        assertTrue(backward.contains("scoreTile$1") && backward.contains("scoreSites$1"), "backward: " + backward);
    }

    /**
     * The other side: the backward template's method that calls the score-site and ds hooks is
     * larger than C2 inlines, so that they are compiled with it alone, not inside keyTile, whose
     * node budget they outran.
     */
    @Test
    void backwardSumsAreCompiledApartFromKeyTile() throws Exception {
        int size = codeSizes(new ClassReader(BackwardTemplate.class.getName()).b).get("accumulate");
        assertTrue(size > KernelGenerator.PASS_BYTES, "BackwardTemplate.accumulate is " + size + " bytes: C2 would inline it into keyTile");
    }

    private static void check(byte[] bytes, Class<?> template, List<String> tooLarge) throws IOException {
        generated(bytes, template).forEach((method, size) -> {
            if (size > KernelGenerator.PASS_BYTES) tooLarge.add(new ClassReader(bytes).getClassName() + "." + method + " (" + size + ")");
        });
    }

    /** The sizes of a class's methods the template does not have, or has only as a hook (a method it also lists in the generated class's hooks). */
    private static Map<String, Integer> generated(byte[] bytes, Class<?> template) throws IOException {
        Map<String, Integer> sizes = codeSizes(bytes);
        Set<String> templateOnly = new TreeSet<>(codeSizes(new ClassReader(template.getName()).b).keySet());
        templateOnly.removeAll(HOOKS);
        sizes.keySet().removeAll(templateOnly);
        return sizes;
    }

    /** The hook methods the generators replace ({@code KernelGenerator.HOOKS}, {@code BackwardGenerator.HOOKS}). */
    private static final Set<String> HOOKS = Set.of("tileQSize", "tileKvSize", "norm", "hasScore", "hasMask", "hasNormValue", "hasOutput",
            "hasScoreByS", "rowScale", "normValue", "scoreTile", "maskTile", "output", "outputByO", "dsTile", "scoreSites", "sitePartial",
            "siteOffset", "floatSpills", "intSpills");

    /**
     * Bytecode length per method, from ASM: each method rewritten by a writer sharing the class's
     * constant pool (so every instruction keeps its size), a label after its last instruction.
     */
    static Map<String, Integer> codeSizes(byte[] bytes) {
        Map<String, Integer> sizes = new TreeMap<>();
        ClassReader reader = new ClassReader(bytes);
        reader.accept(new ClassVisitor(Opcodes.ASM9, new ClassWriter(reader, 0)) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature, String[] exceptions) {
                return new MethodVisitor(Opcodes.ASM9, super.visitMethod(access, name, descriptor, signature, exceptions)) {
                    @Override
                    public void visitMaxs(int maxStack, int maxLocals) {
                        Label end = new Label();
                        super.visitLabel(end);
                        sizes.merge(name, end.getOffset(), Math::max);
                        super.visitMaxs(maxStack, maxLocals);
                    }
                };
            }
        }, 0);
        return sizes;
    }
}
