import attnc.front.Frontend;
import attnc.ir.Pattern;
import attnc.jvm.emit.BackwardGenerator;
import attnc.jvm.emit.KernelGenerator;
import attnc.jvm.emit.Tiling;
import attnc.lower.LowerBackward;
import attnc.lower.LoweredBackward;
import attnc.lower.LoweredPattern;
import attnc.lower.Program;
import attnc.pass.Passes;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

/**
 * Per .attn file, what the JVM backend generates for its tile hooks at the standard tiles: the
 * passes each hook is cut into (methods {@code hook$0}, {@code hook$1}, ...; 1 when it is not cut) and their bytes of
 * bytecode in all, forward (scoreTile, maskTile) and backward (the same, dsTile, scoreSites), and
 * the live instructions of the lowered programs (forward parts; the backward's derivative,
 * offset and partial programs). Uses only public API, so the same file measures any build
 * (hook_sizes.sh's ROOT). Args: FILE.attn ...
 */
final class HookSizes {
    private static final String[] FORWARD = {"scoreTile", "maskTile"}, BACKWARD = {"scoreTile", "maskTile", "dsTile", "scoreSites"};

    public static void main(String[] args) throws Exception {
        System.out.println("passes/bytes per tile hook, standard tiles; live instructions of the lowered programs");
        System.out.println("| pattern | fwd " + String.join(" | fwd ", FORWARD) + " | bwd " + String.join(" | bwd ", BACKWARD) + " | fwd instrs | bwd instrs |");
        System.out.println("|---|" + "---:|".repeat(FORWARD.length + BACKWARD.length + 2));
        for (String file : args) {
            Pattern pattern = Passes.optimize(Frontend.compile(Path.of(file)), Map.of());
            LoweredBackward backward = LowerBackward.lower(pattern);
            LoweredPattern forward = backward.forward();
            Map<String, Integer> fwd = codeSizes(KernelGenerator.generate(forward, Tiling.standard()).bytes());
            Map<String, Integer> bwd = codeSizes(BackwardGenerator.generate(backward, Tiling.standard()).bytes());
            StringBuilder row = new StringBuilder("| " + pattern.name() + " |");
            for (String hook : FORWARD) row.append(' ').append(hook(fwd, hook)).append(" |");
            for (String hook : BACKWARD) row.append(' ').append(hook(bwd, hook)).append(" |");
            int forwardInstrs = live(forward.visibility()) + live(forward.score()) + live(forward.scale()) + live(forward.output())
                    + forward.norm().value().map(HookSizes::live).orElse(0);
            int backwardInstrs = live(backward.scoreByS()) + live(backward.outputByO());
            for (LoweredBackward.Site site : backward.sites()) backwardInstrs += live(site.offset()) + live(site.partial());
            row.append(' ').append(forwardInstrs).append(" | ").append(backwardInstrs).append(" |");
            System.out.println(row);
        }
    }

    /** "passes/bytes": the methods hook$0, hook$1, ... when the hook is cut (the calling method's bytes included), else the hook alone. */
    private static String hook(Map<String, Integer> sizes, String hook) {
        int passes = 0, bytes = sizes.getOrDefault(hook, 0);
        while (sizes.containsKey(hook + "$" + passes)) bytes += sizes.get(hook + "$" + passes++);
        return Math.max(passes, 1) + "/" + bytes;
    }

    private static int live(Program program) {
        int n = 0;
        for (int r = 0; r < program.instrs().size(); r++) if (program.live(r)) n++;
        return n;
    }

    /** Bytecode length per method (as HookSizeTest measures it): a label after each method's last instruction. */
    private static Map<String, Integer> codeSizes(byte[] bytes) {
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
