import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { Type } from 'class-transformer';
import { STATES } from '@airlock/promotion';

const STAGE = /^[a-z][a-z0-9-]{0,31}$/;

/** Where images go and why: the part a promotion and a release request share. */
export class StageRouteDto {
  @ApiProperty({ example: 'dev' })
  @Matches(STAGE, { message: 'from must be a stage name' })
  from!: string;

  @ApiProperty({ example: 'qa' })
  @Matches(STAGE, { message: 'to must be a stage name' })
  to!: string;

  @ApiPropertyOptional({ example: 'release 1.4 for QA' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
}

export class CreatePromotionDto extends StageRouteDto {
  @ApiProperty({ example: 'dev.example:5000/team/app:1.4', description: 'image in the source stage registry, with tag or digest' })
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  image!: string;
}

export class ApproveDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  comment?: string;
}

export class RejectDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
}

export class EmptyDto {}

export class ListPromotionsQuery {
  @ApiPropertyOptional({ enum: STATES })
  @IsOptional()
  @IsIn(STATES)
  state?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @Matches(STAGE)
  stage?: string;

  @ApiPropertyOptional({ description: 'part of a source or target reference, or an exact digest' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  image?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(64)
  requester?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(64)
  cursor?: string;
}
