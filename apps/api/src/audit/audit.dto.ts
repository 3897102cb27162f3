import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';

export class AuditFilterQuery {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) actor?: string;
  @ApiPropertyOptional({ description: 'one action of GET /api/v1/audit/actions' }) @IsOptional() @IsString() @MaxLength(64) action?: string;
  @ApiPropertyOptional({
    description:
      'a repository (its events whatever the tag or digest; never another repository that starts the same) or a full reference (exactly that); a promotion requested from this image as its source is found too',
  })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  image?: string;
  @ApiPropertyOptional() @IsOptional() @Matches(/^sha256:[a-f0-9]{64}$/, { message: 'digest must be sha256:<64 hex>' }) digest?: string;
  @ApiPropertyOptional() @IsOptional() @Matches(/^[a-z][a-z0-9-]{0,31}$/) stage?: string;
  @ApiPropertyOptional() @IsOptional() @IsUUID() promotionId?: string;
  @ApiPropertyOptional() @IsOptional() @IsISO8601() since?: string;
  @ApiPropertyOptional() @IsOptional() @IsISO8601() until?: string;
}

export class AuditEventsQuery extends AuditFilterQuery {
  @ApiPropertyOptional({ description: 'seq, -seq, time or -time' }) @IsOptional() @IsString() @MaxLength(16) sort?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 1000 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) cursor?: string;
}

export class AuditExportQuery extends AuditFilterQuery {
  @ApiPropertyOptional({ enum: ['jsonl', 'csv'] }) @IsOptional() @IsIn(['jsonl', 'csv']) format?: 'jsonl' | 'csv';
}
