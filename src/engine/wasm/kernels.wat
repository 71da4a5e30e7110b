;; SIMD matrix multiplies for the engine's float32 fast path (WebAssembly 128-bit SIMD).
;;
;; The plain TypeScript kernels in ../kernels.ts are the reference; these compute the same sums in
;; float32 (in a different order, so results agree to float rounding). Every pointer is a byte
;; address in the imported memory; every stride (ld*, sa*) counts floats. build.mjs assembles this
;; text twice with wabt: once importing a shared memory (so worker threads can run on the same
;; buffers, and growing it never detaches a view) and once with an ordinary memory (browsers without
;; cross-origin isolation). The line marked MEMORY is the one it rewrites.
;;
;; gemm_nn: C (M, N) (+)= A (M, K) · B (K, N). A(i, k) lies at a + 4*(i*sai + k*sak), so the same
;;          code serves A itself (sai = lda, sak = 1) and A stored transposed (sai = 1, sak = lda).
;;          B and C are row-major. Tiles of 4 rows x 8 columns keep 8 accumulators in registers;
;;          the loop runs over K in blocks so a tile's rows of B stay in the first-level cache.
;; gemm_nt: C (M, N) (+)= A (M, K) · B^T, B stored (N, K): every entry a dot product of two
;;          contiguous rows, vectorized along K, in tiles of 2 rows x 4 columns; K % 4 leftovers are
;;          added with scalar arithmetic.

(module
  (import "env" "memory" (memory 1 65536 shared)) ;; MEMORY

  ;; ---------------------------------------------------------------------------------------------
  ;; gemm_nn
  (func $gemm_nn (export "gemm_nn")
    (param $c i32) (param $ldc i32) (param $a i32) (param $sai i32) (param $sak i32)
    (param $b i32) (param $ldb i32) (param $M i32) (param $N i32) (param $K i32) (param $acc i32)
    (local $k0 i32) (local $kk i32) (local $accb i32)
    ;; K in blocks of 256: each block adds its part into C.
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_s (local.get $k0) (local.get $K)))
        (local.set $kk (i32.sub (local.get $K) (local.get $k0)))
        (if (i32.gt_s (local.get $kk) (i32.const 256)) (then (local.set $kk (i32.const 256))))
        (local.set $accb (i32.or (local.get $acc) (i32.gt_s (local.get $k0) (i32.const 0))))
        (call $nn_block
          (local.get $c) (local.get $ldc)
          (i32.add (local.get $a) (i32.shl (i32.mul (local.get $k0) (local.get $sak)) (i32.const 2)))
          (local.get $sai) (local.get $sak)
          (i32.add (local.get $b) (i32.shl (i32.mul (local.get $k0) (local.get $ldb)) (i32.const 2)))
          (local.get $ldb) (local.get $M) (local.get $N) (local.get $kk) (local.get $accb))
        (local.set $k0 (i32.add (local.get $k0) (i32.const 256)))
        (br $blocks)))
    ;; K = 0: C = 0 unless accumulating.
    (if (i32.and (i32.eqz (local.get $K)) (i32.eqz (local.get $acc)))
      (then (call $zero (local.get $c) (local.get $ldc) (local.get $M) (local.get $N)))))

  (func $zero (param $c i32) (param $ldc i32) (param $M i32) (param $N i32)
    (local $i i32) (local $j i32) (local $row i32)
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $i) (local.get $M)))
        (local.set $row (i32.add (local.get $c) (i32.shl (i32.mul (local.get $i) (local.get $ldc)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $j) (local.get $N)))
            (f32.store (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))) (f32.const 0))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; One block of K (1 <= K <= 256).
  (func $nn_block
    (param $c i32) (param $ldc i32) (param $a i32) (param $sai i32) (param $sak i32)
    (param $b i32) (param $ldb i32) (param $M i32) (param $N i32) (param $K i32) (param $acc i32)
    (local $j0 i32) (local $i0 i32) (local $N8 i32) (local $M4 i32)
    (local $sai4 i32)
    (local.set $sai4 (i32.shl (local.get $sai) (i32.const 2)))
    (local.set $N8 (i32.and (local.get $N) (i32.const -8)))
    (local.set $M4 (i32.and (local.get $M) (i32.const -4)))
    ;; Columns in panels of 8.
    (block $panels_done
      (loop $panels
        (br_if $panels_done (i32.ge_s (local.get $j0) (local.get $N8)))
        (local.set $i0 (i32.const 0))
        (block $tiles_done
          (loop $tiles
            (br_if $tiles_done (i32.ge_s (local.get $i0) (local.get $M4)))
            (call $nn_4x8
              (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i0) (local.get $ldc)) (local.get $j0)) (i32.const 2)))
              (local.get $ldc)
              (i32.add (local.get $a) (i32.mul (local.get $i0) (local.get $sai4)))
              (local.get $sai4) (i32.shl (local.get $sak) (i32.const 2))
              (i32.add (local.get $b) (i32.shl (local.get $j0) (i32.const 2)))
              (i32.shl (local.get $ldb) (i32.const 2)) (local.get $K) (local.get $acc))
            (local.set $i0 (i32.add (local.get $i0) (i32.const 4)))
            (br $tiles)))
        (block $rows_done
          (loop $rows
            (br_if $rows_done (i32.ge_s (local.get $i0) (local.get $M)))
            (call $nn_1x8
              (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i0) (local.get $ldc)) (local.get $j0)) (i32.const 2)))
              (i32.add (local.get $a) (i32.mul (local.get $i0) (local.get $sai4)))
              (i32.shl (local.get $sak) (i32.const 2))
              (i32.add (local.get $b) (i32.shl (local.get $j0) (i32.const 2)))
              (i32.shl (local.get $ldb) (i32.const 2)) (local.get $K) (local.get $acc))
            (local.set $i0 (i32.add (local.get $i0) (i32.const 1)))
            (br $rows)))
        (local.set $j0 (i32.add (local.get $j0) (i32.const 8)))
        (br $panels)))
    ;; The last N % 8 columns, one row at a time: 4 at once if there are 4, then one by one.
    (local.set $i0 (i32.const 0))
    (block $rest_done
      (loop $rest
        (br_if $rest_done (i32.ge_s (local.get $i0) (local.get $M)))
        (local.set $j0 (local.get $N8))
        (if (i32.le_s (i32.add (local.get $j0) (i32.const 4)) (local.get $N))
          (then
            (call $nn_1x4
              (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i0) (local.get $ldc)) (local.get $j0)) (i32.const 2)))
              (i32.add (local.get $a) (i32.mul (local.get $i0) (local.get $sai4)))
              (i32.shl (local.get $sak) (i32.const 2))
              (i32.add (local.get $b) (i32.shl (local.get $j0) (i32.const 2)))
              (i32.shl (local.get $ldb) (i32.const 2)) (local.get $K) (local.get $acc))
            (local.set $j0 (i32.add (local.get $j0) (i32.const 4)))))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $j0) (local.get $N)))
            (call $nn_1x1
              (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i0) (local.get $ldc)) (local.get $j0)) (i32.const 2)))
              (i32.add (local.get $a) (i32.mul (local.get $i0) (local.get $sai4)))
              (i32.shl (local.get $sak) (i32.const 2))
              (i32.add (local.get $b) (i32.shl (local.get $j0) (i32.const 2)))
              (i32.shl (local.get $ldb) (i32.const 2)) (local.get $K) (local.get $acc))
            (local.set $j0 (i32.add (local.get $j0) (i32.const 1)))
            (br $cols)))
        (local.set $i0 (i32.add (local.get $i0) (i32.const 1)))
        (br $rest))))

  ;; 4 rows x 8 columns. c: C(0, 0); pa: A(0, 0); pb: B(0, 0); strides in bytes.
  (func $nn_4x8
    (param $c i32) (param $ldc i32) (param $pa i32) (param $sai4 i32) (param $sak4 i32)
    (param $pb i32) (param $ldb4 i32) (param $K i32) (param $acc i32)
    (local $pa1 i32) (local $pa2 i32) (local $pa3 i32) (local $ldc4 i32)
    (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (local $r00 v128) (local $r01 v128) (local $r10 v128) (local $r11 v128)
    (local $r20 v128) (local $r21 v128) (local $r30 v128) (local $r31 v128)
    (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $c0 (local.get $c))
    (local.set $c1 (i32.add (local.get $c0) (local.get $ldc4)))
    (local.set $c2 (i32.add (local.get $c1) (local.get $ldc4)))
    (local.set $c3 (i32.add (local.get $c2) (local.get $ldc4)))
    (if (local.get $acc)
      (then
        (local.set $r00 (v128.load (local.get $c0))) (local.set $r01 (v128.load offset=16 (local.get $c0)))
        (local.set $r10 (v128.load (local.get $c1))) (local.set $r11 (v128.load offset=16 (local.get $c1)))
        (local.set $r20 (v128.load (local.get $c2))) (local.set $r21 (v128.load offset=16 (local.get $c2)))
        (local.set $r30 (v128.load (local.get $c3))) (local.set $r31 (v128.load offset=16 (local.get $c3)))))
    (local.set $pa1 (i32.add (local.get $pa) (local.get $sai4)))
    (local.set $pa2 (i32.add (local.get $pa1) (local.get $sai4)))
    (local.set $pa3 (i32.add (local.get $pa2) (local.get $sai4)))
    (loop $k
      (local.set $b0 (v128.load (local.get $pb)))
      (local.set $b1 (v128.load offset=16 (local.get $pb)))
      (local.set $x (v128.load32_splat (local.get $pa)))
      (local.set $r00 (f32x4.add (local.get $r00) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $r01 (f32x4.add (local.get $r01) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $x (v128.load32_splat (local.get $pa1)))
      (local.set $r10 (f32x4.add (local.get $r10) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $r11 (f32x4.add (local.get $r11) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $x (v128.load32_splat (local.get $pa2)))
      (local.set $r20 (f32x4.add (local.get $r20) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $r21 (f32x4.add (local.get $r21) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $x (v128.load32_splat (local.get $pa3)))
      (local.set $r30 (f32x4.add (local.get $r30) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $r31 (f32x4.add (local.get $r31) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $pa (i32.add (local.get $pa) (local.get $sak4)))
      (local.set $pa1 (i32.add (local.get $pa1) (local.get $sak4)))
      (local.set $pa2 (i32.add (local.get $pa2) (local.get $sak4)))
      (local.set $pa3 (i32.add (local.get $pa3) (local.get $sak4)))
      (local.set $pb (i32.add (local.get $pb) (local.get $ldb4)))
      (local.set $K (i32.sub (local.get $K) (i32.const 1)))
      (br_if $k (local.get $K)))
    (v128.store (local.get $c0) (local.get $r00)) (v128.store offset=16 (local.get $c0) (local.get $r01))
    (v128.store (local.get $c1) (local.get $r10)) (v128.store offset=16 (local.get $c1) (local.get $r11))
    (v128.store (local.get $c2) (local.get $r20)) (v128.store offset=16 (local.get $c2) (local.get $r21))
    (v128.store (local.get $c3) (local.get $r30)) (v128.store offset=16 (local.get $c3) (local.get $r31)))

  ;; 1 row x 8 columns.
  (func $nn_1x8
    (param $c i32) (param $pa i32) (param $sak4 i32) (param $pb i32) (param $ldb4 i32) (param $K i32) (param $acc i32)
    (local $x v128) (local $r0 v128) (local $r1 v128)
    (if (local.get $acc)
      (then (local.set $r0 (v128.load (local.get $c))) (local.set $r1 (v128.load offset=16 (local.get $c)))))
    (loop $k
      (local.set $x (v128.load32_splat (local.get $pa)))
      (local.set $r0 (f32x4.add (local.get $r0) (f32x4.mul (local.get $x) (v128.load (local.get $pb)))))
      (local.set $r1 (f32x4.add (local.get $r1) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $pb)))))
      (local.set $pa (i32.add (local.get $pa) (local.get $sak4)))
      (local.set $pb (i32.add (local.get $pb) (local.get $ldb4)))
      (local.set $K (i32.sub (local.get $K) (i32.const 1)))
      (br_if $k (local.get $K)))
    (v128.store (local.get $c) (local.get $r0))
    (v128.store offset=16 (local.get $c) (local.get $r1)))

  ;; 1 row x 4 columns.
  (func $nn_1x4
    (param $c i32) (param $pa i32) (param $sak4 i32) (param $pb i32) (param $ldb4 i32) (param $K i32) (param $acc i32)
    (local $r0 v128)
    (if (local.get $acc) (then (local.set $r0 (v128.load (local.get $c)))))
    (loop $k
      (local.set $r0 (f32x4.add (local.get $r0) (f32x4.mul (v128.load32_splat (local.get $pa)) (v128.load (local.get $pb)))))
      (local.set $pa (i32.add (local.get $pa) (local.get $sak4)))
      (local.set $pb (i32.add (local.get $pb) (local.get $ldb4)))
      (local.set $K (i32.sub (local.get $K) (i32.const 1)))
      (br_if $k (local.get $K)))
    (v128.store (local.get $c) (local.get $r0)))

  ;; 1 row x 1 column.
  (func $nn_1x1
    (param $c i32) (param $pa i32) (param $sak4 i32) (param $pb i32) (param $ldb4 i32) (param $K i32) (param $acc i32)
    (local $r f32)
    (if (local.get $acc) (then (local.set $r (f32.load (local.get $c)))))
    (loop $k
      (local.set $r (f32.add (local.get $r) (f32.mul (f32.load (local.get $pa)) (f32.load (local.get $pb)))))
      (local.set $pa (i32.add (local.get $pa) (local.get $sak4)))
      (local.set $pb (i32.add (local.get $pb) (local.get $ldb4)))
      (local.set $K (i32.sub (local.get $K) (i32.const 1)))
      (br_if $k (local.get $K)))
    (f32.store (local.get $c) (local.get $r)))

  ;; ---------------------------------------------------------------------------------------------
  ;; gemm_nt
  (func $gemm_nt (export "gemm_nt")
    (param $c i32) (param $ldc i32) (param $a i32) (param $lda i32)
    (param $b i32) (param $ldb i32) (param $M i32) (param $N i32) (param $K i32) (param $acc i32)
    (local $i0 i32) (local $j0 i32) (local $M2 i32) (local $N4 i32) (local $K4 i32)
    (local $lda4 i32) (local $ldb4 i32) (local $ldc4 i32) (local $pc i32) (local $pa i32)
    (local.set $lda4 (i32.shl (local.get $lda) (i32.const 2)))
    (local.set $ldb4 (i32.shl (local.get $ldb) (i32.const 2)))
    (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $M2 (i32.and (local.get $M) (i32.const -2)))
    (local.set $N4 (i32.and (local.get $N) (i32.const -4)))
    (local.set $K4 (i32.and (local.get $K) (i32.const -4)))
    ;; Pairs of rows.
    (block $pairs_done
      (loop $pairs
        (br_if $pairs_done (i32.ge_s (local.get $i0) (local.get $M2)))
        (local.set $pc (i32.add (local.get $c) (i32.mul (local.get $i0) (local.get $ldc4))))
        (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i0) (local.get $lda4))))
        (local.set $j0 (i32.const 0))
        (block $quads_done
          (loop $quads
            (br_if $quads_done (i32.ge_s (local.get $j0) (local.get $N4)))
            (call $nt_2x4
              (i32.add (local.get $pc) (i32.shl (local.get $j0) (i32.const 2))) (local.get $ldc4)
              (local.get $pa) (local.get $lda4)
              (i32.add (local.get $b) (i32.mul (local.get $j0) (local.get $ldb4))) (local.get $ldb4)
              (local.get $K4) (local.get $acc))
            (local.set $j0 (i32.add (local.get $j0) (i32.const 4)))
            (br $quads)))
        (local.set $i0 (i32.add (local.get $i0) (i32.const 2)))
        (br $pairs)))
    ;; The last row (M odd), 4 columns at a time.
    (if (i32.lt_s (local.get $M2) (local.get $M))
      (then
        (local.set $pc (i32.add (local.get $c) (i32.mul (local.get $M2) (local.get $ldc4))))
        (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $M2) (local.get $lda4))))
        (local.set $j0 (i32.const 0))
        (block $quads_done
          (loop $quads
            (br_if $quads_done (i32.ge_s (local.get $j0) (local.get $N4)))
            (call $nt_1x4
              (i32.add (local.get $pc) (i32.shl (local.get $j0) (i32.const 2)))
              (local.get $pa)
              (i32.add (local.get $b) (i32.mul (local.get $j0) (local.get $ldb4))) (local.get $ldb4)
              (local.get $K4) (local.get $acc))
            (local.set $j0 (i32.add (local.get $j0) (i32.const 4)))
            (br $quads)))))
    ;; The last N % 4 columns of every row.
    (local.set $i0 (i32.const 0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $i0) (local.get $M)))
        (local.set $j0 (local.get $N4))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $j0) (local.get $N)))
            (call $nt_1x1
              (i32.add (local.get $c) (i32.add (i32.mul (local.get $i0) (local.get $ldc4)) (i32.shl (local.get $j0) (i32.const 2))))
              (i32.add (local.get $a) (i32.mul (local.get $i0) (local.get $lda4)))
              (i32.add (local.get $b) (i32.mul (local.get $j0) (local.get $ldb4)))
              (local.get $K4) (local.get $acc))
            (local.set $j0 (i32.add (local.get $j0) (i32.const 1)))
            (br $cols)))
        (local.set $i0 (i32.add (local.get $i0) (i32.const 1)))
        (br $rows)))
    ;; K % 4 leftovers: scalar, added into what the vector part wrote.
    (if (i32.lt_s (local.get $K4) (local.get $K))
      (then
        (call $nt_tail (local.get $c) (local.get $ldc4) (local.get $a) (local.get $lda4) (local.get $b) (local.get $ldb4)
          (local.get $M) (local.get $N) (local.get $K4) (local.get $K)))))

  ;; Sum of the 4 lanes of each of r0..r3, as the lanes of one vector.
  (func $hsum4 (param $r0 v128) (param $r1 v128) (param $r2 v128) (param $r3 v128) (result v128)
    (local $s01 v128) (local $s23 v128)
    ;; [r0.0+r0.2, r0.1+r0.3, r1.0+r1.2, r1.1+r1.3]
    (local.set $s01 (f32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $r0) (local.get $r1))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $r0) (local.get $r1))))
    (local.set $s23 (f32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $r2) (local.get $r3))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $r2) (local.get $r3))))
    (f32x4.add
      (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $s01) (local.get $s23))
      (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $s01) (local.get $s23))))

  ;; 2 rows x 4 columns; K a multiple of 4 (may be 0). c: C(0, 0); a: A row 0; b: B row 0.
  (func $nt_2x4
    (param $c i32) (param $ldc4 i32) (param $a i32) (param $lda4 i32) (param $b i32) (param $ldb4 i32)
    (param $K4 i32) (param $acc i32)
    (local $a1 i32) (local $b1 i32) (local $b2 i32) (local $b3 i32) (local $k i32)
    (local $x0 v128) (local $x1 v128) (local $y v128)
    (local $r00 v128) (local $r01 v128) (local $r02 v128) (local $r03 v128)
    (local $r10 v128) (local $r11 v128) (local $r12 v128) (local $r13 v128)
    (local $s0 v128) (local $s1 v128)
    (local.set $a1 (i32.add (local.get $a) (local.get $lda4)))
    (local.set $b1 (i32.add (local.get $b) (local.get $ldb4)))
    (local.set $b2 (i32.add (local.get $b1) (local.get $ldb4)))
    (local.set $b3 (i32.add (local.get $b2) (local.get $ldb4)))
    (local.set $k (i32.shl (local.get $K4) (i32.const 2)))
    (block $done
      (br_if $done (i32.eqz (local.get $k)))
      (loop $kl
        (local.set $x0 (v128.load (local.get $a)))
        (local.set $x1 (v128.load (local.get $a1)))
        (local.set $y (v128.load (local.get $b)))
        (local.set $r00 (f32x4.add (local.get $r00) (f32x4.mul (local.get $x0) (local.get $y))))
        (local.set $r10 (f32x4.add (local.get $r10) (f32x4.mul (local.get $x1) (local.get $y))))
        (local.set $y (v128.load (local.get $b1)))
        (local.set $r01 (f32x4.add (local.get $r01) (f32x4.mul (local.get $x0) (local.get $y))))
        (local.set $r11 (f32x4.add (local.get $r11) (f32x4.mul (local.get $x1) (local.get $y))))
        (local.set $y (v128.load (local.get $b2)))
        (local.set $r02 (f32x4.add (local.get $r02) (f32x4.mul (local.get $x0) (local.get $y))))
        (local.set $r12 (f32x4.add (local.get $r12) (f32x4.mul (local.get $x1) (local.get $y))))
        (local.set $y (v128.load (local.get $b3)))
        (local.set $r03 (f32x4.add (local.get $r03) (f32x4.mul (local.get $x0) (local.get $y))))
        (local.set $r13 (f32x4.add (local.get $r13) (f32x4.mul (local.get $x1) (local.get $y))))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $a1 (i32.add (local.get $a1) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (local.set $b1 (i32.add (local.get $b1) (i32.const 16)))
        (local.set $b2 (i32.add (local.get $b2) (i32.const 16)))
        (local.set $b3 (i32.add (local.get $b3) (i32.const 16)))
        (local.set $k (i32.sub (local.get $k) (i32.const 16)))
        (br_if $kl (local.get $k))))
    (local.set $s0 (call $hsum4 (local.get $r00) (local.get $r01) (local.get $r02) (local.get $r03)))
    (local.set $s1 (call $hsum4 (local.get $r10) (local.get $r11) (local.get $r12) (local.get $r13)))
    (if (local.get $acc)
      (then
        (local.set $s0 (f32x4.add (local.get $s0) (v128.load (local.get $c))))
        (local.set $s1 (f32x4.add (local.get $s1) (v128.load (i32.add (local.get $c) (local.get $ldc4)))))))
    (v128.store (local.get $c) (local.get $s0))
    (v128.store (i32.add (local.get $c) (local.get $ldc4)) (local.get $s1)))

  ;; 1 row x 4 columns; K a multiple of 4 (may be 0).
  (func $nt_1x4
    (param $c i32) (param $a i32) (param $b i32) (param $ldb4 i32) (param $K4 i32) (param $acc i32)
    (local $b1 i32) (local $b2 i32) (local $b3 i32) (local $k i32) (local $x v128)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128) (local $s v128)
    (local.set $b1 (i32.add (local.get $b) (local.get $ldb4)))
    (local.set $b2 (i32.add (local.get $b1) (local.get $ldb4)))
    (local.set $b3 (i32.add (local.get $b2) (local.get $ldb4)))
    (local.set $k (i32.shl (local.get $K4) (i32.const 2)))
    (block $done
      (br_if $done (i32.eqz (local.get $k)))
      (loop $kl
        (local.set $x (v128.load (local.get $a)))
        (local.set $r0 (f32x4.add (local.get $r0) (f32x4.mul (local.get $x) (v128.load (local.get $b)))))
        (local.set $r1 (f32x4.add (local.get $r1) (f32x4.mul (local.get $x) (v128.load (local.get $b1)))))
        (local.set $r2 (f32x4.add (local.get $r2) (f32x4.mul (local.get $x) (v128.load (local.get $b2)))))
        (local.set $r3 (f32x4.add (local.get $r3) (f32x4.mul (local.get $x) (v128.load (local.get $b3)))))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (local.set $b1 (i32.add (local.get $b1) (i32.const 16)))
        (local.set $b2 (i32.add (local.get $b2) (i32.const 16)))
        (local.set $b3 (i32.add (local.get $b3) (i32.const 16)))
        (local.set $k (i32.sub (local.get $k) (i32.const 16)))
        (br_if $kl (local.get $k))))
    (local.set $s (call $hsum4 (local.get $r0) (local.get $r1) (local.get $r2) (local.get $r3)))
    (if (local.get $acc) (then (local.set $s (f32x4.add (local.get $s) (v128.load (local.get $c))))))
    (v128.store (local.get $c) (local.get $s)))

  ;; 1 row x 1 column; K a multiple of 4 (may be 0).
  (func $nt_1x1
    (param $c i32) (param $a i32) (param $b i32) (param $K4 i32) (param $acc i32)
    (local $k i32) (local $r v128) (local $s f32)
    (local.set $k (i32.shl (local.get $K4) (i32.const 2)))
    (block $done
      (br_if $done (i32.eqz (local.get $k)))
      (loop $kl
        (local.set $r (f32x4.add (local.get $r) (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b)))))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (local.set $k (i32.sub (local.get $k) (i32.const 16)))
        (br_if $kl (local.get $k))))
    (local.set $s (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $r)) (f32x4.extract_lane 2 (local.get $r)))
      (f32.add (f32x4.extract_lane 1 (local.get $r)) (f32x4.extract_lane 3 (local.get $r)))))
    (if (local.get $acc) (then (local.set $s (f32.add (local.get $s) (f32.load (local.get $c))))))
    (f32.store (local.get $c) (local.get $s)))

  ;; C(i, j) += sum over k in [k0, K) of A(i, k) * B(j, k); strides in bytes.
  (func $nt_tail
    (param $c i32) (param $ldc4 i32) (param $a i32) (param $lda4 i32) (param $b i32) (param $ldb4 i32)
    (param $M i32) (param $N i32) (param $k0 i32) (param $K i32)
    (local $i i32) (local $j i32) (local $k i32) (local $pa i32) (local $pb i32) (local $pc i32) (local $s f32)
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $i) (local.get $M)))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $j) (local.get $N)))
            (local.set $pa (i32.add (local.get $a) (i32.add (i32.mul (local.get $i) (local.get $lda4)) (i32.shl (local.get $k0) (i32.const 2)))))
            (local.set $pb (i32.add (local.get $b) (i32.add (i32.mul (local.get $j) (local.get $ldb4)) (i32.shl (local.get $k0) (i32.const 2)))))
            (local.set $s (f32.const 0))
            (local.set $k (local.get $k0))
            (block $k_done
              (loop $kl
                (br_if $k_done (i32.ge_s (local.get $k) (local.get $K)))
                (local.set $s (f32.add (local.get $s) (f32.mul (f32.load (local.get $pa)) (f32.load (local.get $pb)))))
                (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 4)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $kl)))
            (local.set $pc (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $ldc4)) (i32.shl (local.get $j) (i32.const 2)))))
            (f32.store (local.get $pc) (f32.add (f32.load (local.get $pc)) (local.get $s)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))
)
